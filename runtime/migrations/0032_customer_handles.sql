-- One identity per person (issue 17): every handle a customer has been seen
-- by (phone number, WhatsApp's business-scoped user id, a web chat account)
-- maps to one customer of the business, whose pseudonym the plugin sees.
-- A handle is found by its blind index (an HMAC under the business's index
-- key); the handle itself is kept sealed under the customer's key.
CREATE TABLE customer_handles (
    business_id TEXT NOT NULL,
    handle_index TEXT NOT NULL,
    -- The customer's pseudonym, stable across their handles.
    customer_id TEXT NOT NULL,
    handle TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, handle_index)
);
CREATE INDEX customer_handles_by_customer ON customer_handles (business_id, customer_id);
