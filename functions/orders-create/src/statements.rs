//! The statements that place an order: the one statement of an order
//! without a key ([`PLACE`], and [`CHECK`] to say why it refused), and
//! those of the keyed transaction.

/// Serializes requests with one key; held until the transaction ends.
pub(crate) const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
pub(crate) const FIND_BY_KEY: &str =
    "SELECT request_fingerprint, id FROM orders WHERE idempotency_key = $1";
/// Whether the user exists, and the products locked in id order: one row
/// per product found (`id, price, stock_quantity, user_exists`), or one row
/// with NULL product columns when none is. One statement where there were
/// two, since every statement costs the server as much to start as these
/// cost to run.
pub(crate) const CHECK_AND_LOCK: &str = "SELECT p.id, p.price, p.stock_quantity, u.user_exists
    FROM (SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS user_exists) u
    LEFT JOIN LATERAL (
        SELECT id, price, stock_quantity FROM products
        WHERE id = ANY($1) ORDER BY id FOR UPDATE) p ON true";
pub(crate) const CREATE: &str = "WITH stock AS (
        UPDATE products p SET stock_quantity = p.stock_quantity - w.quantity
        FROM unnest($3::bigint[], $4::integer[]) AS w(product_id, quantity)
        -- `= ANY` keeps the generic plan on the primary key, not a seq scan.
        WHERE p.id = w.product_id AND p.id = ANY($3)),
    new_order AS (
        INSERT INTO orders (user_id, status, total_amount, idempotency_key, request_fingerprint)
        VALUES ($1, 'pending', $2, $5, $6)
        RETURNING id, user_id, status, total_amount, created_at, updated_at),
    new_items AS (
        INSERT INTO order_items (order_id, product_id, quantity, price)
        SELECT new_order.id, i.product_id, i.quantity, i.price
        FROM new_order, unnest($7::bigint[], $8::integer[], $9::numeric[])
             WITH ORDINALITY AS i(product_id, quantity, price, n)
        ORDER BY i.n
        RETURNING id, product_id, quantity, price)
    SELECT o.id, o.user_id, o.status, o.total_amount, o.created_at, o.updated_at,
           i.id AS item_id, i.product_id, i.quantity, i.price
    FROM new_order o CROSS JOIN new_items i ORDER BY i.id";

/// The whole order in one statement, for a request without a key. `$2`
/// and `$3` are the wanted quantities per product in id order (bigint: a
/// sum past INTEGER can only mean too little stock); `$4`, `$5` the items.
pub(crate) const PLACE: &str = "WITH stock AS (
        UPDATE products p SET stock_quantity = p.stock_quantity - w.quantity
        FROM unnest($2::bigint[], $3::bigint[]) AS w(product_id, quantity)
        WHERE p.id = w.product_id AND p.id = ANY($2)
        RETURNING p.id, p.price),
    items AS (
        SELECT i.n, i.product_id, i.quantity, stock.price
        FROM unnest($4::bigint[], $5::integer[]) WITH ORDINALITY AS i(product_id, quantity, n)
        LEFT JOIN stock ON stock.id = i.product_id),
    new_order AS (
        INSERT INTO orders (user_id, status, total_amount)
        SELECT $1, 'pending', sum(items.price * items.quantity) FROM items
        RETURNING id, user_id, status, total_amount, created_at, updated_at),
    new_items AS (
        INSERT INTO order_items (order_id, product_id, quantity, price)
        SELECT new_order.id, items.product_id, items.quantity, items.price
        FROM new_order, items ORDER BY items.n
        RETURNING id, product_id, quantity, price)
    SELECT o.id, o.user_id, o.status, o.total_amount, o.created_at, o.updated_at,
           i.id AS item_id, i.product_id, i.quantity, i.price
    FROM new_order o CROSS JOIN new_items i ORDER BY i.id";
/// What [`PLACE`] found wrong: [`CHECK_AND_LOCK`]'s answer, without the locks.
pub(crate) const CHECK: &str = "SELECT p.id, p.price, p.stock_quantity, u.user_exists
    FROM (SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS user_exists) u
    LEFT JOIN LATERAL (SELECT id, price, stock_quantity FROM products WHERE id = ANY($1)) p ON true";
