-- Currencies a shop prices products in besides its main one (comma-separated
-- ISO 4217 codes; empty for a one-currency shop). A cart holds one currency.
ALTER TABLE businesses ADD COLUMN extra_currencies TEXT NOT NULL DEFAULT '';
