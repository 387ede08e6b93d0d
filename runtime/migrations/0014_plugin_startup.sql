-- What a fresh instance of a version costs over a reused one, in microseconds,
-- measured by the node that compiled it (instantiating and a first call, less
-- a second call; the fastest of a few tries): whether its instances are fresh
-- per message or reused is chosen from it (plugin/reuse.rs).
ALTER TABLE plugin_versions ADD COLUMN startup_us BIGINT;
