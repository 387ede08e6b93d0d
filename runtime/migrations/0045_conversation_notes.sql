-- Private notes a business's people keep on a conversation: seen in the
-- console only, never sent to the customer, never given to the plugin. A note
-- may quote the customer, so its text is sealed under the customer's data key
-- (as message bodies are) and deleted with the customer's other data on erasure.
CREATE TABLE conversation_notes (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    -- The staff member who wrote it (their id; shown by their name).
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX conversation_notes_by_conversation ON conversation_notes (business_id, conversation_id, created_at);
