-- Chat transports: WhatsApp Cloud API channels, the durable queue of inbound
-- webhook events (de-duplicated by the transport's message id), and the
-- durable outbound queue every push transport delivers from.

-- One WhatsApp number per business. Secrets are the business's Meta app's.
CREATE TABLE whatsapp_channels (
    business_id TEXT PRIMARY KEY REFERENCES businesses (id),
    phone_number_id TEXT NOT NULL UNIQUE,
    app_secret TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    access_token TEXT NOT NULL,
    -- e.g. https://graph.facebook.com/v23.0 (a local server in tests)
    graph_base_url TEXT NOT NULL,
    -- The Meta commerce catalog holding the shop's products under the same ids,
    -- if any: product replies become native product messages.
    catalog_id TEXT,
    -- Sends per second to this number (Meta's default is 80).
    rate_per_second BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Inbound webhook events, persisted before the webhook is acknowledged and
-- processed afterwards. Meta retries deliveries for days: the unique
-- (business, external id) makes a retried delivery a no-op.
CREATE TABLE inbound_events (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    channel TEXT NOT NULL,
    -- The transport's message id (WhatsApp `wamid...`).
    external_id TEXT NOT NULL,
    -- The message as parsed (JSON).
    payload TEXT NOT NULL,
    -- 'pending', 'done' or 'failed'
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- When it is due; also a lease while it is being processed.
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (business_id, channel, external_id)
);
CREATE INDEX inbound_events_due ON inbound_events (state, next_attempt_at);

-- Outbound sends, in conversation order. A row is claimed only when no earlier
-- row of its conversation is still pending, so a reply never overtakes an
-- earlier one, even across nodes.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    -- The stored message this send delivers (a message may need several sends).
    message_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    -- Order within the conversation.
    seq BIGINT NOT NULL,
    -- The transport's request body, without the recipient (added when sent).
    body TEXT NOT NULL,
    -- What was adapted to fit the transport's limits (split text, shortened
    -- titles...), for the business to see; NULL when nothing was.
    adaptation TEXT,
    -- 'pending', 'sent', 'dead' (gave up; the business may retry) or
    -- 'expired' (outside WhatsApp's 24-hour customer-service window)
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    -- The transport's id for the sent message, and its delivery status
    -- ('sent', 'delivered', 'read', 'failed'), which only moves forward.
    external_id TEXT,
    delivery_status TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_by_business ON outbox (business_id, state, created_at);
CREATE INDEX outbox_by_external_id ON outbox (external_id);

-- When the customer last wrote: the start of WhatsApp's 24-hour window.
ALTER TABLE conversations ADD COLUMN last_inbound_at BIGINT;
