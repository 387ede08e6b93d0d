-- Signed notifications to businesses: where to send them, and a durable queue
-- of deliveries retried with backoff until acknowledged.
ALTER TABLE businesses ADD COLUMN webhook_url TEXT;
ALTER TABLE businesses ADD COLUMN webhook_secret TEXT;

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- e.g. 'order.paid'
    event_type TEXT NOT NULL,
    -- JSON body, signed as sent.
    payload TEXT NOT NULL,
    -- 'pending', 'delivered' or 'failed' (gave up after the last attempt)
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- When the next attempt is due; also a lease while an attempt is running.
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_business ON webhook_deliveries (business_id, created_at);
