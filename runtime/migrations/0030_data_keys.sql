-- Privacy by construction (issue 17): the random data keys customer data and
-- business secrets are sealed under, each stored wrapped by the
-- key-encryption key it names (held outside the database). One key per
-- customer of a business (erasing the customer deletes it: crypto-shredding,
-- every copy of their data unreadable, backups included), one for the
-- business's secrets and one for its blind index of handles.
CREATE TABLE data_keys (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    -- 'customer', 'secrets' or 'index'
    purpose TEXT NOT NULL,
    -- The customer a 'customer' key seals for; '' for the business's own keys.
    owner TEXT NOT NULL,
    -- The key-encryption key that wrapped it (a hash of that key, not the key).
    kek_id TEXT NOT NULL,
    -- The key, sealed by that key-encryption key.
    wrapped TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (business_id, purpose, owner)
);
CREATE INDEX data_keys_by_kek ON data_keys (kek_id);
