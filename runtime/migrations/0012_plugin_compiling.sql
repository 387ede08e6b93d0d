-- Uploads compile in the background: a version is 'compiling' until a node
-- compiled and linked it ('ready') or found it cannot be ('failed', with the
-- reason). A node claims a compile by moving `compile_lease_until` forward (and
-- keeps moving it while it compiles), so a compile whose node died is taken
-- over when its lease ends; `compile_attempts` counts the claims, so an upload
-- that stops every node compiling it is given up as failed. Versions stored
-- before this migration were compiled at upload: they are ready.
ALTER TABLE plugin_versions ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE plugin_versions ADD COLUMN failure TEXT;
ALTER TABLE plugin_versions ADD COLUMN activate_when_ready BIGINT NOT NULL DEFAULT 0;
ALTER TABLE plugin_versions ADD COLUMN compile_lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE plugin_versions ADD COLUMN compile_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE plugin_versions ADD COLUMN language_class TEXT NOT NULL DEFAULT 'compiled';
ALTER TABLE plugin_versions ADD COLUMN ready_at BIGINT;
CREATE INDEX plugin_versions_compiling ON plugin_versions (compile_lease_until) WHERE state = 'compiling';
