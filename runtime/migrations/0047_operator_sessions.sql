-- The operator console's sessions: opened with the admin token, kept only as
-- the SHA-256 hash of their random token (the admin token itself is never
-- stored or put in a cookie), ended by signing out or when they expire.
CREATE TABLE operator_sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
