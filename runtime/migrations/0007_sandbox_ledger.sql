-- The sandbox card processor's own books. A real processor keeps these on its
-- side; the sandbox keeps them in the runtime's database so that every node
-- sees the same charges (a challenge started on one node can be completed on
-- another) and a refund after a restart still finds what was captured.
-- No card number or security code is stored here either.
CREATE TABLE sandbox_charges (
    reference TEXT PRIMARY KEY,
    -- The caller's idempotency key: the same key answers the same.
    idempotency_key TEXT NOT NULL UNIQUE,
    -- 'approved', 'challenge' or 'declined'
    outcome TEXT NOT NULL,
    decline_code TEXT,
    amount_minor BIGINT NOT NULL,
    captured_minor BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    -- JSON: token, brand, last4, exp_month, exp_year (absent for an invalid number)
    card TEXT,
    created_at BIGINT NOT NULL
);
