-- The circuit breaker's memory: how many times it stopped a business's plugin
-- in the current run of trips (a run ends after a day without one) and when it
-- last did. Activating a version is refused for a cool-off after a repeated
-- trip, doubling with each (plugin/publish/cooling.rs).
ALTER TABLE businesses ADD COLUMN plugin_trips BIGINT NOT NULL DEFAULT 0;
ALTER TABLE businesses ADD COLUMN plugin_last_trip_at BIGINT;
