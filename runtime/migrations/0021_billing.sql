-- Fees for businesses (runtime/src/billing/): an append-only usage ledger,
-- versioned plans and rate cards, and finalised invoices nobody can rewrite.
-- Times are milliseconds since the epoch, money is integer minor units.

-- The ledger. One row per billable fact, written in the transaction that
-- writes the fact (a message stored, a payment captured, a refund finished, a
-- delivery status recorded, a plugin turn's replies stored). The key
-- (business_id, source, source_id) makes a retried fact meter once; the same
-- key with another quantity is refused (billing::ledger). Rows are never
-- updated or deleted: a correction is a new row (metric 'adjustment').
CREATE TABLE usage_events (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- 'messages_handled', 'payment_captured', 'payment_refunded',
    -- 'whatsapp_delivered', 'whatsapp_free', 'plugin_cpu_ms', 'adjustment'
    metric TEXT NOT NULL,
    -- What the fact is ('message', 'payment', 'refund', 'whatsapp_send',
    -- 'plugin_turn', 'operator') and its id there.
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    -- Units of the metric: messages, minor units of money, CPU milliseconds.
    quantity BIGINT NOT NULL,
    -- For money metrics and pass-through charges: the currency; for channel
    -- charges the recipient's market and the pricing category; for
    -- adjustments what a person reads.
    currency TEXT,
    market TEXT,
    category TEXT,
    note TEXT,
    -- When the fact happened (it decides the period) and when it was written
    -- (a late fact of a closed period becomes a delta on the next invoice).
    occurred_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE (business_id, source, source_id)
);
CREATE INDEX usage_by_period ON usage_events (business_id, occurred_at);

-- Plans: a code and name, and versions effective from a time. A business is
-- priced, for a whole period, by the version in effect at the later of the
-- period's start and its assignment's start (never retroactively).
CREATE TABLE billing_plans (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE billing_plan_versions (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES billing_plans (id),
    version BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- JSON of domain::billing::PlanTerms (fees, allowances, tiers, cap, policies).
    terms TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (plan_id, version)
);
CREATE INDEX plan_versions_by_time ON billing_plan_versions (plan_id, effective_from);

-- Which plan a business is on from when, and its tax rate (basis points).
CREATE TABLE billing_assignments (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    plan_id TEXT NOT NULL REFERENCES billing_plans (id),
    effective_from BIGINT NOT NULL,
    tax_rate_bps BIGINT NOT NULL,
    tax_label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (business_id, effective_from)
);

-- Channel rate cards: versions effective from a time; each delivered send is
-- priced by the version in effect when it was delivered.
CREATE TABLE rate_card_versions (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    version BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    -- The operator's markup over cost, basis points (0: at cost).
    markup_bps BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (channel, version)
);
CREATE TABLE rate_card_prices (
    rate_card_id TEXT NOT NULL REFERENCES rate_card_versions (id),
    -- ISO 3166 alpha-2 market, or '*' for any market the card does not name.
    market TEXT NOT NULL,
    -- 'marketing', 'utility', 'authentication', 'service'...
    category TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- Thousandths of a minor unit per message (Meta's prices are fractions of a cent).
    unit_milli_minor BIGINT NOT NULL,
    PRIMARY KEY (rate_card_id, market, category)
);

-- Finalised invoices: written once, by the finalising transaction, and never
-- changed (triggers installed by store::invoices refuse UPDATE and DELETE on
-- both databases). Drafts are not stored: they are priced live.
CREATE TABLE invoice_numbers (
    scope TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- Gapless per operator, taken from invoice_numbers in the finalising transaction.
    number BIGINT NOT NULL UNIQUE,
    -- '2026-11': the calendar month in the operator's time zone; [start, end).
    period TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    currency TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_label TEXT NOT NULL,
    tax_rate_bps BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    operator_name TEXT NOT NULL,
    business_name TEXT NOT NULL,
    plan_version_id TEXT,
    finalized_at BIGINT NOT NULL,
    UNIQUE (business_id, period, currency)
);
CREATE TABLE invoice_lines (
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    position BIGINT NOT NULL,
    -- 'plan_fee', 'usage', 'transaction_fee', 'channel', 'adjustment', 'cap', 'delta'
    kind TEXT NOT NULL,
    -- What the line prices, stable across runs (a delta line names the same key).
    line_key TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The period whose usage it prices ('2026-10' on a delta line of November's invoice).
    usage_period TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    -- The plan or rate-card version that priced it.
    priced_by TEXT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);
-- Which ledger rows each invoice sums: every row is invoiced once. Linked
-- first in the finalising transaction (the invoice is then priced from
-- exactly these rows and written after), so `invoice_id` has no foreign key.
CREATE TABLE invoice_usage (
    usage_id TEXT PRIMARY KEY REFERENCES usage_events (id),
    invoice_id TEXT NOT NULL
);
CREATE INDEX invoice_usage_of_invoice ON invoice_usage (invoice_id);

-- Where an invoice's payment stands: the one mutable part, kept apart from
-- the immutable invoice. 'open', 'paid' or 'past_due'.
CREATE TABLE invoice_status (
    invoice_id TEXT PRIMARY KEY REFERENCES invoices (id),
    status TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    paid_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX invoice_status_due ON invoice_status (status, due_at);

-- The thresholds (50, 80, 100 %) of its spending cap or an allowance a
-- business crossed in a period, each announced once (`usage.threshold`) by
-- the transaction that records it; 100 % of the cap is what a plan's
-- `when_over_cap` acts on.
CREATE TABLE usage_thresholds (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    period TEXT NOT NULL,
    -- 'spending_cap', 'messages_handled', 'plugin_cpu_ms'
    subject TEXT NOT NULL,
    percent BIGINT NOT NULL,
    crossed_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, period, subject, percent)
);

-- What each WhatsApp send's status webhooks said of its price.
ALTER TABLE outbox ADD COLUMN pricing_type TEXT;
ALTER TABLE outbox ADD COLUMN pricing_category TEXT;
ALTER TABLE outbox ADD COLUMN market TEXT;
