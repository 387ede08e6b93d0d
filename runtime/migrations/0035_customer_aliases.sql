-- One person, one customer (issue 17's review): when a webhook links two
-- customers the host already knew apart (a business-scoped user id's and a
-- phone number's), the one whose handle moves becomes an alias of the other.
-- Its conversations and orders keep its id; export and erasure of the
-- customer cover every alias (erasure destroys each one's data key).
CREATE TABLE customer_aliases (
    business_id TEXT NOT NULL,
    alias_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, alias_id)
);

CREATE INDEX customer_aliases_by_customer ON customer_aliases (business_id, customer_id);
