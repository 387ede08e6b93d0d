-- Orders: a checked-out cart, with its own order, payment and fulfilment
-- states. Stock is taken from products at checkout (the reservation) and given
-- back if the reservation expires unpaid or the order is cancelled.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    customer_id TEXT NOT NULL,
    -- 1, 2, 3... per business: what a customer and the business call the order.
    number BIGINT NOT NULL,
    -- 'open', 'completed' or 'cancelled'
    status TEXT NOT NULL,
    -- 'pending', 'authorized', 'captured', 'failed', 'refunded', 'partially_refunded'
    payment_status TEXT NOT NULL,
    -- 'unfulfilled', 'shipped', 'delivered'
    fulfillment_status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    -- JSON of the priced cart at checkout: lines, discounts, totals.
    cart TEXT NOT NULL,
    -- While set, the stock of the lines is held for this order until then (ms).
    reserved_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (business_id, number)
);
CREATE INDEX orders_by_business ON orders (business_id, created_at);
CREATE INDEX orders_by_reservation ON orders (reserved_until);

CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders (id),
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
