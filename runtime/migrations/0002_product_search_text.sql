-- Catalog search matches a lowercased copy of name and description made by the
-- runtime (Unicode-aware), because SQLite's LOWER() folds ASCII only.
ALTER TABLE products ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE products SET search_text = LOWER(name) || ' ' || LOWER(description);
