-- Bottega's foundation schema. Written once for SQLite and PostgreSQL: ids are
-- TEXT, times are BIGINT milliseconds since the Unix epoch, flags are BIGINT 0/1,
-- money is BIGINT minor units plus a TEXT ISO 4217 code.

CREATE TABLE businesses (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    locale TEXT NOT NULL,
    api_key_hash TEXT NOT NULL UNIQUE,
    -- HMAC key that turns a customer's handle into this business's pseudonym.
    pseudonym_key TEXT NOT NULL,
    -- Comma-separated capabilities granted to the business's plugins.
    capabilities TEXT NOT NULL,
    -- JSON of the per-call plugin limits.
    limits TEXT NOT NULL,
    active_plugin_version_id TEXT,
    -- Set by the circuit breaker; cleared when a version is (re)activated.
    plugin_disabled_reason TEXT,
    plugin_consecutive_failures BIGINT NOT NULL DEFAULT 0,
    kv_bytes BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE products (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    photo_url TEXT,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    stock BIGINT NOT NULL,
    section TEXT NOT NULL,
    available BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, id)
);
CREATE INDEX products_by_section ON products (business_id, section, name);

CREATE TABLE plugin_versions (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    world TEXT NOT NULL,
    -- Comma-separated capabilities the component imports.
    capabilities TEXT NOT NULL,
    wasm BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (business_id, version)
);

CREATE TABLE customers (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- The pseudonym: the only customer id a plugin ever sees.
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    handle TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, id)
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    locale TEXT NOT NULL,
    -- 'bot', 'pending_agent' or 'agent'
    handling TEXT NOT NULL,
    message_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    UNIQUE (business_id, customer_id, channel)
);
CREATE INDEX conversations_by_recency ON conversations (business_id, last_message_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    business_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- 'inbound' (from the customer) or 'outbound'
    direction TEXT NOT NULL,
    -- 'customer', 'bot' or 'host' (fallbacks and notices)
    author TEXT NOT NULL,
    -- JSON of the message as the API shows it.
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (conversation_id, seq)
);

CREATE TABLE cart_lines (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    business_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, product_id)
);

CREATE TABLE kv_entries (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    -- Bytes counted against the business's quota: key plus value.
    size BIGINT NOT NULL,
    PRIMARY KEY (business_id, key)
);

CREATE TABLE plugin_failures (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    plugin_version_id TEXT NOT NULL,
    -- 'trap', 'deadline', 'memory', 'output_too_large', 'invalid_reply'
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX plugin_failures_by_business ON plugin_failures (business_id, created_at);

CREATE TABLE plugin_logs (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    plugin_version_id TEXT NOT NULL,
    conversation_id TEXT,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    -- JSON object of the structured fields.
    fields TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX plugin_logs_by_business ON plugin_logs (business_id, created_at);
