-- no transaction
-- Every order updates its products' stock. PostgreSQL can make such an
-- update HOT (the new row version on the same page, no index touched) only
-- when no index covers the changed column, and a partial index's WHERE
-- counts. With 04's indexes on the ids in and out of stock, every stock
-- update wrote a new entry into each of products' indexes, the trigram
-- index on the name included. Measured with pgbench on the benchmark's
-- data, an order's statements cost 22% less server CPU without them
-- (1,333 -> 1,035 us per order, 16 clients on 2 cores; loadtest/README.md).
--
-- What they served, `?in_stock=`, now walks the primary key in id order
-- and skips the rows of the other kind: a page reads about limit / (share
-- of products of that kind) rows, 54 for in stock and 625 for out of stock
-- at the scale data's 8% out of stock, whatever the table's size.
-- `-- no transaction` as in 04, for DROP INDEX CONCURRENTLY.

DROP INDEX CONCURRENTLY IF EXISTS products_in_stock_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS products_out_of_stock_id_idx;
