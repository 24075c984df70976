-- no transaction
-- Indexes that let every list filter page by id at the cost of one page,
-- whatever the table's size (api-contract.md: keyset pages, a plan per
-- filter, indexed search). Applied once, like every file here, and never
-- edited: a later change is a new numbered file.
--
-- `-- no transaction` (the first line) tells the runtime to run these one
-- statement at a time, outside a transaction, so that CREATE INDEX
-- CONCURRENTLY builds each index on a big live table without blocking
-- writes. If a build fails half-way it leaves an invalid index behind; each
-- is dropped first, so the next start (which runs the file again, since it
-- was not recorded) rebuilds it. On a new, empty database, as the
-- PostgreSQL image's init runs it, each statement takes milliseconds.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Orders of one user, and orders in one status, in id order.
DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_id_idx;
CREATE INDEX CONCURRENTLY orders_user_id_id_idx ON orders (user_id, id);
DROP INDEX CONCURRENTLY IF EXISTS orders_status_id_idx;
CREATE INDEX CONCURRENTLY orders_status_id_idx ON orders (status, id);
-- The single-column indexes they replace (the foreign key's index is the
-- leading column of orders_user_id_id_idx).
DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;

-- Products in stock and out of it, in id order.
DROP INDEX CONCURRENTLY IF EXISTS products_in_stock_id_idx;
CREATE INDEX CONCURRENTLY products_in_stock_id_idx ON products (id) WHERE stock_quantity > 0;
DROP INDEX CONCURRENTLY IF EXISTS products_out_of_stock_id_idx;
CREATE INDEX CONCURRENTLY products_out_of_stock_id_idx ON products (id) WHERE stock_quantity = 0;

-- A selective price range.
DROP INDEX CONCURRENTLY IF EXISTS products_price_id_idx;
CREATE INDEX CONCURRENTLY products_price_id_idx ON products (price, id);

-- `q`: name contains, case-insensitive (ILIKE), on trigrams.
DROP INDEX CONCURRENTLY IF EXISTS products_name_trgm_idx;
CREATE INDEX CONCURRENTLY products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
