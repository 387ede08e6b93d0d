-- The audit trail (issue 17): append-only, hash-chained per business. Each
-- row's hash is sha256(previous hash || the row in canonical form), and a
-- business's head (its last seq and hash) is kept beside, so an altered,
-- removed or appended-behind-the-back row fails `bottega audit verify`.
-- Rows say who did what to what, when, with what outcome: never a secret or
-- a customer's text. business_id '' is the operator's own trail (key operations).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- 'business' (its API key), 'operator' (the admin token or the CLI), 'host'
    actor TEXT NOT NULL,
    -- 'customer.exported', 'customer.erased', 'keys.rotated', 'plugin.activated', 'secret.changed'…
    action TEXT NOT NULL,
    -- What it was about: a pseudonym, a plugin version, a secret's name.
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (business_id, seq)
);

CREATE TABLE audit_heads (
    business_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
