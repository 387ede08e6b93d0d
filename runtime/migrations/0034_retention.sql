-- Retention per business (issue 17): message bodies older than message_days
-- are erased by the retention sweeper (their metadata kept). No row: kept
-- until the customer is erased.
CREATE TABLE retention_settings (
    business_id TEXT PRIMARY KEY,
    message_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A customer who asks for their data in the chat gets a download link valid a
-- short time: only its token's hash is kept, with whose export it opens.
CREATE TABLE data_export_links (
    token_hash TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
