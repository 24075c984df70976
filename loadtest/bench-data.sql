-- The benchmark data set, loaded set-based into an empty database that has
-- sql/01-schema.sql applied (loadtest/bench does both). psql variables, with
-- the defaults that loadtest/bench passes:
--   users (10000), products (1000), orders (10000); 3 items per order.
--   psql -v ON_ERROR_STOP=1 -v users=10000 -v products=1000 -v orders=10000 -f loadtest/bench-data.sql shop
--
-- Ids are explicit (1..N) so that the load scripts can draw random ids from
-- known ranges; the identity sequences are moved past them. Every product
-- has 1,000,000,000 in stock (INTEGER max is 2,147,483,647) so that order
-- creation never runs out during a run.

\set ON_ERROR_STOP 1

BEGIN;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM orders) THEN
        RAISE EXCEPTION 'bench-data.sql loads into empty tables only';
    END IF;
END;
$$;

INSERT INTO users (id, username, email)
SELECT g, 'user_' || g, 'user_' || g || '@example.com'
FROM generate_series(1, :users) AS g;

-- Prices from 1.00 to 1000.99, spread deterministically.
INSERT INTO products (id, name, description, price, stock_quantity)
SELECT g,
       'Product ' || g,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 'Benchmark product number ' || g END,
       round(1 + ((g * 7919) % 100000) / 100.0, 2),
       1000000000
FROM generate_series(1, :products) AS g;

INSERT INTO orders (id, user_id, status, total_amount)
SELECT g,
       1 + ((g * 7) % :users),
       (ARRAY['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'])[1 + g % 5],
       0
FROM generate_series(1, :orders) AS g;

-- Three distinct products per order (offsets 0, 1/3 and 2/3 of the range).
INSERT INTO order_items (order_id, product_id, quantity, price)
SELECT o.id, p.id, 1 + (o.id + k) % 3, p.price
FROM orders AS o
CROSS JOIN generate_series(0, 2) AS k
JOIN products AS p
  ON p.id = 1 + ((o.id * 31 + k * (:products / 3)) % :products)
ORDER BY o.id, k;

UPDATE orders AS o
SET total_amount = s.total
FROM (SELECT order_id, sum(price * quantity) AS total FROM order_items GROUP BY order_id) AS s
WHERE s.order_id = o.id;

SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products));
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));

COMMIT;

VACUUM ANALYZE;
