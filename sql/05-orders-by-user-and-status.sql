-- no transaction
-- Orders of one user in one status, in id order
-- (`/api/orders?user_id=U&status=S`). With only (user_id, id) and
-- (status, id), PostgreSQL combined both in a BitmapAnd that read every
-- order of the user and every order in the status: 1.4 ms at 200,000
-- orders, 9-13 ms at 2,000,000. On this index the page is one range scan,
-- whatever the table's size. Applied once and never edited, like every file
-- here; `-- no transaction` as in 04, for CREATE INDEX CONCURRENTLY.

DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_status_id_idx;
CREATE INDEX CONCURRENTLY orders_user_id_status_id_idx ON orders (user_id, status, id);
