-- Card payments. Card numbers and security codes are never stored: a payment
-- keeps the processor's reference and token, the brand, the last four digits
-- and the expiry.
ALTER TABLE orders ADD COLUMN pay_token_hash TEXT;
-- The payment in progress or done for this order; set atomically, so two
-- submissions (double click, two tabs) cannot both charge.
ALTER TABLE orders ADD COLUMN payment_id TEXT;

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- 'processing', 'requires_challenge', 'captured', 'declined', 'failed'
    status TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    provider_reference TEXT,
    card_token TEXT,
    card_brand TEXT,
    card_last4 TEXT,
    card_exp TEXT,
    decline_code TEXT,
    captured_minor BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX payments_by_order ON payments (order_id);

-- Idempotency keys of money-moving requests, claimed atomically with a
-- fingerprint of the request; the first response is replayed to retries.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- 'in_flight' or 'done'
    state TEXT NOT NULL,
    status_code BIGINT,
    response TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
