-- The thresholds watcher looks only at businesses whose usage was recorded
-- since its last pass (see billing/limits.rs).
CREATE INDEX usage_by_recorded ON usage_events (recorded_at);
