-- Web chat: a browser's session with one shop. The browser keeps a secret
-- token (only its hash is stored); the session's customer is known to the
-- business by the usual pseudonym, under the handle `web:<session id>`.
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    token_hash TEXT NOT NULL UNIQUE,
    -- The customer's lock: an argon2id PHC string, NULL when there is none.
    password_hash TEXT,
    -- Lock after this many idle minutes (1, 15 or 60); NULL: only on demand.
    auto_lock_minutes BIGINT,
    locked BIGINT NOT NULL DEFAULT 0,
    -- Wrong passwords in a row, and until when unlocking is refused because of them.
    failed_unlocks BIGINT NOT NULL DEFAULT 0,
    unlock_blocked_until BIGINT,
    last_active_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Set when the customer signed out: the token opens nothing any more.
    signed_out_at BIGINT
);
CREATE INDEX web_sessions_by_business ON web_sessions (business_id, created_at);
