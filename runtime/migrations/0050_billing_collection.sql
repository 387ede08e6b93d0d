-- Collecting invoices (commerce/payments/collection.rs): the card a business
-- pays its invoices with, and every attempt to charge it, recorded before the
-- provider is called. Times are milliseconds since the epoch.

-- A business's billing card: what the payment provider returned when the
-- operator saved it (its token, brand, last four digits and expiry), never
-- the number or the security code.
CREATE TABLE billing_cards (
    business_id TEXT PRIMARY KEY REFERENCES businesses (id),
    token TEXT NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Each attempt to charge an invoice to its business's billing card. The row
-- (with its idempotency key) is written before the provider is called, so a
-- crash between the call and its record is resolved by asking the provider
-- under that key. One row per (invoice, attempt number): two nodes never make
-- the same attempt.
CREATE TABLE invoice_charges (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    attempt BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    -- The card charged (the token as it was when the attempt began).
    card_token TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- 'pending' (intent recorded, outcome unknown), 'succeeded', 'declined'
    state TEXT NOT NULL,
    decline_code TEXT,
    reference TEXT,
    -- Until when the node that began it owns it; then the collector resolves it.
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    settled_at BIGINT,
    UNIQUE (invoice_id, attempt)
);
CREATE INDEX invoice_charges_pending ON invoice_charges (state, lease_until);

-- The sandbox processor's saved cards (a real processor keeps these on its
-- side): the token it handed out, what the card is kept as, and how the
-- sandbox's test card behaves when charged. No number is stored.
CREATE TABLE sandbox_cards (
    token TEXT PRIMARY KEY,
    -- JSON: token, brand, last4, exp_month, exp_year
    card TEXT NOT NULL,
    -- 'approved', a decline code ('card_declined', 'insufficient_funds'),
    -- or 'processing_error'
    behaviour TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
