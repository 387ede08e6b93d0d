-- The business console's people: staff accounts with a role, invitations by
-- a single-use link, and signed-in sessions. Secrets (invitation and session
-- tokens) are kept only as their SHA-256 hash; passwords as argon2id PHC
-- strings. An email belongs to one account on the node (signing in names no
-- business).
CREATE TABLE staff_members (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- owner, admin, agent or viewer (`domain::staff::Role`).
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_members_by_business ON staff_members (business_id, created_at);

CREATE TABLE staff_invitations (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    -- Set once, by the one acceptance the link allows.
    accepted_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_invitations_by_business ON staff_invitations (business_id, created_at);

CREATE TABLE staff_sessions (
    id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff_members (id) ON DELETE CASCADE,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

-- Machine keys with a scope (full, catalog or read_only), beside the
-- business's own API key (which stays a full key).
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_by_business ON api_keys (business_id, created_at);
