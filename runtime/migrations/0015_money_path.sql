-- A crash-safe money path (see commerce/payments/flow.rs and recovery.rs).

-- Order numbers come from one counter row per business, taken in the checkout's
-- transaction: concurrent checkouts wait for it instead of colliding on MAX+1.
CREATE TABLE order_numbers (
    business_id TEXT PRIMARY KEY REFERENCES businesses (id),
    last_number BIGINT NOT NULL
);
INSERT INTO order_numbers (business_id, last_number)
    SELECT business_id, MAX(number) FROM orders GROUP BY business_id;

-- A payment records, before the provider is called, the idempotency key it is
-- called with (so recovery can ask the provider what became of it) and until
-- when the request that started it owns it. A payment still `processing` after
-- its lease is resolved by the reconciler.
ALTER TABLE payments ADD COLUMN provider_key TEXT;
ALTER TABLE payments ADD COLUMN lease_until BIGINT;
-- The request that started it (the payment form's idempotency key): its retry
-- after a crash resumes this payment instead of starting another.
ALTER TABLE payments ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX payments_by_request ON payments (order_id, request_key);
CREATE INDEX payments_in_flight ON payments (lease_until) WHERE status = 'processing';

-- A claimed idempotency key is owned until its lease ends; a key whose owner
-- died is taken over by the next retry instead of answering "in progress".
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT;

-- Refunds: the intent is stored before the provider is called, under the key
-- the provider is called with; a refund left `pending` by a crash is retried
-- with the same key (the provider answers it once) and then recorded.
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    order_id TEXT NOT NULL REFERENCES orders (id),
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount_minor BIGINT NOT NULL,
    -- 'pending', 'succeeded' or 'failed'
    status TEXT NOT NULL,
    failure TEXT,
    lease_until BIGINT,
    -- The API request's idempotency key: its retry resumes this refund.
    request_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (order_id, request_key)
);
CREATE INDEX refunds_of_order ON refunds (order_id);
CREATE INDEX refunds_pending ON refunds (lease_until) WHERE status = 'pending';

-- Every change of an order, written in the transaction that makes it: the
-- order's timeline, and the queue of its follow-ups (the business's webhook,
-- the bot's event), which a crash cannot lose.
CREATE TABLE order_events (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    order_id TEXT NOT NULL REFERENCES orders (id),
    -- 'created', 'paid', 'payment_failed', 'cancelled', 'expired', 'shipped', 'delivered', 'refunded'
    kind TEXT NOT NULL,
    -- What a person reads of it: a decline's reason, a refund's amount.
    detail TEXT,
    created_at BIGINT NOT NULL,
    -- Set when its follow-ups were done; until then the sweeper retries them
    -- once `lease_until` has passed.
    dispatched_at BIGINT,
    lease_until BIGINT
);
CREATE INDEX order_events_of_order ON order_events (order_id, created_at);
CREATE INDEX order_events_undispatched ON order_events (lease_until) WHERE dispatched_at IS NULL;

-- The sandbox processor's captures and refunds, each under its caller's
-- idempotency key, so a retried capture or refund moves money once.
CREATE TABLE sandbox_operations (
    idempotency_key TEXT PRIMARY KEY,
    reference TEXT NOT NULL REFERENCES sandbox_charges (reference),
    -- 'capture' or 'refund'
    kind TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    -- 'done' or 'refused'
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
