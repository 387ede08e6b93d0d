-- Retention per business (issue 17): message bodies older than message_days
-- are erased by the retention sweeper (their metadata kept). No row: kept
-- until the customer is erased.
CREATE TABLE retention_settings (
    business_id TEXT PRIMARY KEY,
    message_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
