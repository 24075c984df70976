//! `POST /api/orders`: `{"user_id", "items": [{"product_id", "quantity"}]}`
//! → 201 with the order.
//!
//! Without an `Idempotency-Key`: one statement, one round trip, its own
//! implicit transaction. It takes the stock (locking the products in id
//! order, so concurrent orders never deadlock) and inserts the order and
//! its items at the prices it locked. Whatever is wrong fails the whole
//! statement: too little stock breaks the stock CHECK, a missing product
//! leaves an item without a price (NOT NULL), a missing user breaks the
//! foreign key, a total too large overflows its column. Only then is the
//! database asked which it was, to say so; nothing was written.
//!
//! With a key, one transaction, three round trips: BEGIN; the key's lock;
//! the idempotency lookup, and the user check with the product locks,
//! pipelined together; one statement that decrements stock and inserts the
//! order and its items at the locked prices, with COMMIT behind it.
//!
//! An `Idempotency-Key` is stored with the order (unique): a retry finds the
//! first order and returns it as it is now (201, `Idempotent-Replayed:
//! true`). A duplicate that arrives while the first is still running waits
//! for it on a transaction-scoped advisory lock on the key, taken before
//! anything is read, so it sees the first's outcome: its order if it
//! committed, nothing if it failed (and then runs as a new request). It
//! never sees the stock its twin took.

use std::collections::BTreeMap;

use contract::db::Row;
use contract::model::Order;
use contract::{
    header, Db, Decimal, FieldError, Function, HeaderValue, Limits, Method, Outcome, Problem,
    Reply, Request, Validator,
};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Post],
    path: "/api/orders",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const MAX_ITEMS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    #[serde(deserialize_with = "contract::fields::id")]
    user_id: i64,
    items: Vec<NewItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    #[serde(deserialize_with = "contract::fields::id")]
    product_id: i64,
    #[serde(deserialize_with = "contract::fields::whole")]
    quantity: i32,
}

/// Serializes requests with one key; held until the transaction ends.
const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
const FIND_BY_KEY: &str = "SELECT request_fingerprint, id FROM orders WHERE idempotency_key = $1";
/// Whether the user exists, and the products locked in id order: one row
/// per product found (`id, price, stock_quantity, user_exists`), or one row
/// with NULL product columns when none is. One statement where there were
/// two, since every statement costs the server as much to start as these
/// cost to run.
const CHECK_AND_LOCK: &str = "SELECT p.id, p.price, p.stock_quantity, u.user_exists
    FROM (SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS user_exists) u
    LEFT JOIN LATERAL (
        SELECT id, price, stock_quantity FROM products
        WHERE id = ANY($1) ORDER BY id FOR UPDATE) p ON true";
const CREATE: &str = "WITH stock AS (
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
const PLACE: &str = "WITH stock AS (
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
const CHECK: &str = "SELECT p.id, p.price, p.stock_quantity, u.user_exists
    FROM (SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS user_exists) u
    LEFT JOIN LATERAL (SELECT id, price, stock_quantity FROM products WHERE id = ANY($1)) p ON true";

async fn handle(req: Request) -> Outcome {
    let order: NewOrder = req.json()?;
    validate(&order)?;
    let key = idempotency_key(&req)?;
    if key.is_none() {
        return place(&req, &order).await;
    }
    // What the key stands for: a retry must ask for the same order.
    let fingerprint = key.map(|_| fingerprint(&order));
    let wanted = wanted(&order);
    let product_ids: Vec<i64> = wanted.keys().copied().collect();

    let mut conn = req.db().exclusive().await?;
    let tx = conn.transaction().await?;
    // The key's lock is held before anything else is read or locked: its
    // own round trip, since a statement prepared on first use may reach
    // the server after the ones pipelined beside it, and a product lock
    // taken before the key's would deadlock with the twin holding the key.
    if let Some(key) = key {
        tx.execute(LOCK_KEY, &[&key]).await?;
    }
    let (earlier, checked) = tokio::try_join!(
        async {
            match key {
                Some(key) => tx.query_opt(FIND_BY_KEY, &[&key]).await,
                None => Ok(None),
            }
        },
        async {
            tx.query(CHECK_AND_LOCK, &[&product_ids, &order.user_id])
                .await
        },
    )?;
    if let Some(earlier) = earlier {
        tx.rollback().await?;
        return replay(req.db(), &earlier, fingerprint).await;
    }
    let user_exists = match checked.first() {
        Some(row) => row.try_get::<_, bool>(3)?,
        None => false,
    };
    if !user_exists {
        return Err(no_such_user(order.user_id));
    }
    let locked: Vec<&Row> = checked
        .iter()
        .filter(|row| matches!(row.try_get::<_, Option<i64>>(0), Ok(Some(_))))
        .collect();
    let priced = price(&order, &wanted, &locked)?;

    // Each total fits an INTEGER: it is at most the stock it was checked against.
    let wanted_quantities: Vec<i32> = wanted.values().map(|q| *q as i32).collect();
    let item_products: Vec<i64> = order.items.iter().map(|item| item.product_id).collect();
    let item_quantities: Vec<i32> = order.items.iter().map(|item| item.quantity).collect();
    let params: [&(dyn contract::db::ToSql + Sync); 9] = [
        &order.user_id,
        &priced.total,
        &product_ids,
        &wanted_quantities,
        &key,
        &fingerprint,
        &item_products,
        &item_quantities,
        &priced.item_prices,
    ];
    // The writes and COMMIT in one round trip; a failed statement rolls
    // back there.
    let rows = match tx.query_and_commit(CREATE, &params).await {
        Ok(rows) => rows,
        Err(error) if key.is_some() && error.constraint() == Some("orders_idempotency_key_key") => {
            // A concurrent request with the same key committed first.
            let earlier = req
                .db()
                .fresh()
                .await?
                .query_one(FIND_BY_KEY, &[&key])
                .await?;
            return replay(req.db(), &earlier, fingerprint).await;
        }
        // The user was deleted after the check above (users are not locked).
        Err(error) if error.constraint() == Some("orders_user_id_fkey") => {
            return Err(no_such_user(order.user_id))
        }
        Err(error) => return Err(error.into()),
    };
    let order = Order::one(&rows)?;
    Ok(Reply::created(format!("/api/orders/{}", order.id), &order)
        .with_etag(order.id, order.updated_at))
}

/// An order without a key, in one statement ([`PLACE`]).
async fn place(req: &Request, order: &NewOrder) -> Outcome {
    let wanted = wanted(order);
    let product_ids: Vec<i64> = wanted.keys().copied().collect();
    let quantities: Vec<i64> = wanted.values().copied().collect();
    let item_products: Vec<i64> = order.items.iter().map(|item| item.product_id).collect();
    let item_quantities: Vec<i32> = order.items.iter().map(|item| item.quantity).collect();
    let params: [&(dyn contract::db::ToSql + Sync); 5] = [
        &order.user_id,
        &product_ids,
        &quantities,
        &item_products,
        &item_quantities,
    ];
    let conn = req.db().exclusive().await?;
    let rows = match conn.query(PLACE, &params).await {
        Ok(rows) => rows,
        Err(error) if refused(&error) => {
            let checked = conn.query(CHECK, &[&product_ids, &order.user_id]).await?;
            return Err(why_refused(order, &wanted, &checked));
        }
        Err(error) => return Err(error.into()),
    };
    let order = Order::one(&rows)?;
    Ok(Reply::created(format!("/api/orders/{}", order.id), &order)
        .with_etag(order.id, order.updated_at))
}

/// The errors by which [`PLACE`] refuses an order it cannot take.
fn refused(error: &contract::DbError) -> bool {
    use contract::db::SqlState;
    [
        SqlState::CHECK_VIOLATION,
        SqlState::NOT_NULL_VIOLATION,
        SqlState::FOREIGN_KEY_VIOLATION,
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
    ]
    .iter()
    .any(|state| error.code() == Some(state))
}

/// The problem for a refused order, as the checks of the keyed path would
/// have put it. If nothing is wrong any more (stock came back between the
/// two statements), the client may simply retry.
fn why_refused(order: &NewOrder, wanted: &BTreeMap<i64, i64>, checked: &[Row]) -> Problem {
    let user_exists = checked
        .first()
        .is_some_and(|row| matches!(row.try_get::<_, bool>(3), Ok(true)));
    if !user_exists {
        return no_such_user(order.user_id);
    }
    let found: Vec<&Row> = checked
        .iter()
        .filter(|row| matches!(row.try_get::<_, Option<i64>>(0), Ok(Some(_))))
        .collect();
    match price(order, wanted, &found) {
        Err(problem) => problem,
        Ok(_) => Problem::conflict("the stock changed while the order was placed; retry"),
    }
}

/// Quantity wanted per product, in id order (the lock order).
fn wanted(order: &NewOrder) -> BTreeMap<i64, i64> {
    let mut wanted: BTreeMap<i64, i64> = BTreeMap::new();
    for item in &order.items {
        *wanted.entry(item.product_id).or_default() += i64::from(item.quantity);
    }
    wanted
}

/// Each item's unit price and the order's total.
struct Priced {
    item_prices: Vec<Decimal>,
    total: Decimal,
}

/// Checks the locked products (`id, price, stock_quantity`) against the
/// order: each exists (else 422 naming the item) and has the stock (else
/// 409 naming each short product); then prices the items at the locked
/// prices and sums the total, which must fit the column.
fn price(
    order: &NewOrder,
    wanted: &BTreeMap<i64, i64>,
    locked: &[&Row],
) -> Result<Priced, Problem> {
    let mut prices: BTreeMap<i64, Decimal> = BTreeMap::new();
    let mut short = Vec::new();
    for row in locked {
        let id: i64 = row.try_get(0)?;
        let stock: i32 = row.try_get(2)?;
        let want = wanted.get(&id).copied().unwrap_or_default();
        if i64::from(stock) < want {
            short.push(format!("product {id}: {stock} available, {want} requested"));
        }
        prices.insert(id, row.try_get(1)?);
    }
    let missing: Vec<FieldError> = order
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !prices.contains_key(&item.product_id))
        .map(|(i, item)| {
            FieldError::new(
                format!("items[{i}].product_id"),
                format!("product {} does not exist", item.product_id),
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(Problem::unprocessable(missing));
    }
    if !short.is_empty() {
        return Err(Problem::conflict(format!(
            "insufficient stock: {}",
            short.join("; ")
        )));
    }
    let item_prices: Vec<Decimal> = order
        .items
        .iter()
        .map(|item| prices[&item.product_id])
        .collect();
    let total: Decimal = order
        .items
        .iter()
        .zip(&item_prices)
        .map(|(item, price)| price * Decimal::from(item.quantity))
        .sum();
    if total > contract::money::MAX_TOTAL {
        return Err(Problem::invalid_field(
            "items",
            "the order total is above 9999999999.99",
        ));
    }
    Ok(Priced { item_prices, total })
}

fn no_such_user(id: i64) -> Problem {
    Problem::invalid_field("user_id", format!("user {id} does not exist"))
}

fn validate(order: &NewOrder) -> Result<(), Problem> {
    let mut rules = Validator::new();
    rules.check(order.user_id > 0, "user_id", "must be a positive integer");
    rules.check(
        (1..=MAX_ITEMS).contains(&order.items.len()),
        "items",
        format!("must hold 1 to {MAX_ITEMS} items"),
    );
    for (i, item) in order.items.iter().enumerate() {
        rules.check(
            item.product_id > 0,
            format!("items[{i}].product_id"),
            "must be a positive integer",
        );
        rules.check(
            item.quantity >= 1,
            format!("items[{i}].quantity"),
            "must be at least 1",
        );
    }
    rules.finish()
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &Request) -> Result<Option<&str>, Problem> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key))
        }
        _ => Err(Problem::bad_request(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
    }
}

fn fingerprint(order: &NewOrder) -> String {
    let items: Vec<String> = order
        .items
        .iter()
        .map(|item| format!("{}x{}", item.product_id, item.quantity))
        .collect();
    format!("user {}: {}", order.user_id, items.join(","))
}

/// The first order made with this key, as it is now; 422 when the key was
/// first used for a different order.
async fn replay(db: &Db, earlier: &Row, now: Option<String>) -> Outcome {
    // FIND_BY_KEY's columns: request_fingerprint, id.
    let first: Option<String> = earlier.try_get(0)?;
    let id: i64 = earlier.try_get(1)?;
    if first != now {
        return Err(Problem {
            detail: "the Idempotency-Key header was already used for a different order".into(),
            ..Problem::invalid_field("Idempotency-Key", "was already used for a different order")
        });
    }
    // Fresh: the order was committed a moment ago, maybe not yet on a replica.
    let rows = db.fresh().await?.query(Order::SELECT_BY_ID, &[&id]).await?;
    let order = Order::one(&rows)?;
    Ok(Reply::created(format!("/api/orders/{}", order.id), &order)
        .with_etag(order.id, order.updated_at)
        .with_header(
            header::HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        ))
}
