-- Privacy (issue 17): a customer's handle is found by its blind index (an
-- HMAC under the business's index key), never by the handle, which is sealed.
ALTER TABLE customers ADD COLUMN handle_index TEXT;
CREATE INDEX customers_by_handle_index ON customers (business_id, handle_index);
