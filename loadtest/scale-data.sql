-- A large shop for loadtest/scale, loaded set-based (generate_series, no
-- round trip per row) into a database whose schema the runtime has applied
-- (sql/, indexes included). It replaces the sample data the runtime loads
-- into a new database, and refuses a database holding anything more.
--
--   psql -v ON_ERROR_STOP=1 -v users=1000000 -v products=100000 -v orders=2000000 \
--        -f loadtest/scale-data.sql shop
--
-- Ids are 1..N in every table (the scripts draw ids from known ranges) and
-- rows go in in id order, as a table filled over time is: the primary key
-- and the heap are correlated, which is what the planner sees in a real
-- shop. The identity sequences are moved past the loaded ids, so the API
-- can still create rows. Every "random" value is a hash of the row's id,
-- so two loads of the same size are identical and a figure can be compared
-- with the next run's.
--
-- The shape, chosen so that every list filter has something to find:
--   users     user_<id>, user_<id>@example.com.
--   products  "<Adjective> <Noun> <XY>-<nnn>" from 16 adjectives, 20 nouns
--             and 676 two-letter codes ("Compact Monitor AB-417"): a word
--             (q=monitor) matches about 5% of the names, a word and a code
--             (q=monitor ab) about 1 in 13,500, q=zzzz none. Prices
--             log-uniform from 1.00 to 2,000.00 (a catalogue has many cheap
--             items and few dear ones); 8% out of stock.
--   orders    2 items each, of two different products, quantity 1-3, at the
--             product's price; the total is their sum. user_id is skewed:
--             1 + floor(users * r^3), so user 1 has the most orders (about
--             users^(-1/3) of them: 1% at a million users) and the last
--             users have none or one, as in a shop with regulars. Status
--             follows age: the newest 5% are pending, confirmed, shipped or
--             cancelled; the older ones delivered (92%) or cancelled, so
--             `status=shipped` is about 2% of the orders, all near the end
--             of the id range (where a plan walking the primary key from
--             the start does the most work).
--   created_at spreads over two years in id order.

\set ON_ERROR_STOP 1

-- The foreign-key checks are triggers, one lookup per inserted row (six
-- million at the default size); in replica mode they do not fire, and one
-- set-based check after the load proves the same. Superuser only, which
-- the throwaway cluster's postgres is.
SET session_replication_role = replica;

-- TRUNCATE and the inserts in one transaction: with the server's
-- wal_level=minimal (loadtest/scale sets it) PostgreSQL then writes the new
-- tables and indexes without WAL.
BEGIN;

DO $$
BEGIN
    IF (SELECT count(*) FROM users) > 3 OR (SELECT count(*) FROM products) > 3
       OR (SELECT count(*) FROM orders) > 1 THEN
        RAISE EXCEPTION 'scale-data.sql replaces the sample data only; this database holds more';
    END IF;
END
$$;

TRUNCATE order_items, orders, products, users RESTART IDENTITY;

-- A uniform number in [0, 1) from (n, salt): the top 52 bits of a 64-bit
-- hash. IMMUTABLE and a single expression, so the planner inlines it.
CREATE FUNCTION pg_temp.rnd(n bigint, salt integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (hashint8extended(n, salt) & 4503599627370495)::double precision / 4503599627370496 $$;

-- A product's price, a function of its id: the order items use it too,
-- without a join to products.
CREATE FUNCTION pg_temp.price(id bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(exp(pg_temp.rnd(id, 20) * ln(2000))::numeric, 2) $$;

-- Item k (0 or 1) of order g: two different products when there are two.
CREATE FUNCTION pg_temp.item_product(g bigint, k integer, products bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 1 + CASE k
        WHEN 0 THEN floor(products * pg_temp.rnd(g, 30))::bigint
        ELSE (floor(products * pg_temp.rnd(g, 30))::bigint + 1
              + floor((products - 1) * pg_temp.rnd(g, 31))::bigint) % products
    END $$;

CREATE FUNCTION pg_temp.item_quantity(g bigint, k integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 1 + floor(3 * pg_temp.rnd(g, 32 + k))::integer $$;

-- Row g of n, created over two years in id order.
CREATE FUNCTION pg_temp.created(g bigint, n bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT timestamptz '2024-01-01 00:00:00+00' + interval '1 second' * ((g - 1) * 63072000.0 / n) $$;

\timing on

\echo users
INSERT INTO users (id, username, email, created_at, updated_at)
SELECT g, 'user_' || g, 'user_' || g || '@example.com', pg_temp.created(g, :users), pg_temp.created(g, :users)
FROM generate_series(1, :users) AS g;

\echo products
INSERT INTO products (id, name, description, price, stock_quantity, created_at, updated_at)
SELECT g,
       adjective || ' ' || noun || ' ' || code,
       CASE WHEN pg_temp.rnd(g, 28) < 0.1 THEN NULL
            ELSE 'A ' || lower(adjective) || ' ' || lower(noun) || ', model ' || code END,
       pg_temp.price(g),
       CASE WHEN pg_temp.rnd(g, 21) < 0.08 THEN 0 ELSE 1 + floor(500 * pg_temp.rnd(g, 22))::integer END,
       pg_temp.created(g, :products), pg_temp.created(g, :products)
FROM (SELECT g,
             (ARRAY['Compact', 'Wireless', 'Ergonomic', 'Portable', 'Smart', 'Ultra', 'Classic', 'Premium',
                    'Rugged', 'Slim', 'Quiet', 'Mini', 'Pro', 'Eco', 'Deluxe', 'Basic'])
                 [1 + floor(16 * pg_temp.rnd(g, 23))::integer] AS adjective,
             (ARRAY['Monitor', 'Keyboard', 'Mouse', 'Laptop', 'Headset', 'Speaker', 'Webcam', 'Router',
                    'Charger', 'Cable', 'Tablet', 'Printer', 'Scanner', 'Microphone', 'Projector', 'Dock',
                    'Drive', 'Lamp', 'Chair', 'Desk'])
                 [1 + floor(20 * pg_temp.rnd(g, 24))::integer] AS noun,
             chr(65 + floor(26 * pg_temp.rnd(g, 25))::integer) || chr(65 + floor(26 * pg_temp.rnd(g, 26))::integer)
                 || '-' || (100 + floor(900 * pg_temp.rnd(g, 27))::integer) AS code
      FROM generate_series(1, :products) AS g) AS p
ORDER BY g;

\echo orders
INSERT INTO orders (id, user_id, status, total_amount, created_at, updated_at)
SELECT g,
       1 + floor(:users * pg_temp.rnd(g, 2) ^ 3)::bigint,
       CASE WHEN g > :orders * 0.95 THEN
                CASE WHEN pg_temp.rnd(g, 3) < 0.3 THEN 'pending'
                     WHEN pg_temp.rnd(g, 3) < 0.5 THEN 'confirmed'
                     WHEN pg_temp.rnd(g, 3) < 0.9 THEN 'shipped'
                     ELSE 'cancelled' END
            WHEN pg_temp.rnd(g, 3) < 0.92 THEN 'delivered'
            ELSE 'cancelled' END,
       pg_temp.price(pg_temp.item_product(g, 0, :products)) * pg_temp.item_quantity(g, 0)
           + pg_temp.price(pg_temp.item_product(g, 1, :products)) * pg_temp.item_quantity(g, 1),
       pg_temp.created(g, :orders), pg_temp.created(g, :orders)
FROM generate_series(1, :orders) AS g;

-- Item i belongs to order (i + 1) / 2 and is its item (i + 1) % 2.
\echo order_items
INSERT INTO order_items (id, order_id, product_id, quantity, price)
SELECT i,
       (i + 1) / 2,
       pg_temp.item_product((i + 1) / 2, ((i + 1) % 2)::integer, :products),
       pg_temp.item_quantity((i + 1) / 2, ((i + 1) % 2)::integer),
       pg_temp.price(pg_temp.item_product((i + 1) / 2, ((i + 1) % 2)::integer, :products))
FROM generate_series(1, 2 * (:orders)::bigint) AS i;

\timing off

SELECT setval(pg_get_serial_sequence('users', 'id'), :users) \gset
SELECT setval(pg_get_serial_sequence('products', 'id'), :products) \gset
SELECT setval(pg_get_serial_sequence('orders', 'id'), :orders) \gset
SELECT setval(pg_get_serial_sequence('order_items', 'id'), 2 * (:orders)::bigint) \gset

COMMIT;

RESET session_replication_role;

-- What the foreign-key triggers would have checked row by row, once.
\timing on
\echo references
DO $$
DECLARE
    orphans bigint;
BEGIN
    SELECT count(*) INTO orphans FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id);
    IF orphans > 0 THEN RAISE EXCEPTION '% orders refer to missing users', orphans; END IF;
    SELECT count(*) INTO orphans FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id);
    IF orphans > 0 THEN RAISE EXCEPTION '% order items refer to missing orders', orphans; END IF;
    SELECT count(*) INTO orphans FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i.product_id);
    IF orphans > 0 THEN RAISE EXCEPTION '% order items refer to missing products', orphans; END IF;
END
$$;

-- Statistics for the planner, and the visibility map and hint bits a
-- long-lived database has (autovacuum keeps them): without the VACUUM the
-- first reads of every page would write it, and index-only scans would
-- visit the heap, which is the aftermath of the load, not the API's cost.
\echo vacuum analyze
VACUUM (ANALYZE);
