-- How long a version took to instantiate on the node that compiled it (the
-- fastest of a few tries), in microseconds: whether its instances are fresh
-- per message or reused is chosen from it (plugin/reuse.rs).
ALTER TABLE plugin_versions ADD COLUMN instantiate_us BIGINT;
