-- A plugin with the `orders` capability (contract 1.1.0) reads the current
-- customer's orders, newest first.
CREATE INDEX orders_by_customer ON orders (business_id, customer_id, number);
