//! `GET /api/orders`: orders with their items, by id, a page at a time
//! (`?after=`, `?limit=`, `?offset=`), filtered by `?user_id=` and `?status=`.

use contract::model::{Order, OrderStatus};
use contract::{query, Function, Limits, Method, Outcome, Page, Request};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/orders",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

#[derive(Deserialize)]
struct Filters {
    user_id: Option<i64>,
    status: Option<String>,
}

// One statement per combination of filters, each prepared once and each on
// the index that serves it in id order: the primary key, `(user_id, id)`,
// `(status, id)` or `(user_id, status, id)`. One statement with
// `($3 IS NULL OR user_id = $3)` would get one generic plan, walking the
// primary key for every filter.
//
// `(status, id) > ($4, $3) AND status <= $4` is `status = $4 AND id > $3`
// written as a range of the two-column index: the scan starts at exactly
// ($4, $3) and stops after the last row of $4. Written as an equality, the
// generic plan (which cannot know how rare $4 is) may walk the primary key
// and filter instead, as costly as the table for a rare value.
pub const ALL: &str = "WITH page AS (
        SELECT id, user_id, status, total_amount, created_at, updated_at FROM orders
        WHERE id > $3 ORDER BY id LIMIT $1 OFFSET $2)
    SELECT page.*, i.id AS item_id, i.product_id, i.quantity, i.price
    FROM page LEFT JOIN order_items i ON i.order_id = page.id
    ORDER BY page.id, i.id";
pub const BY_USER: &str = "WITH page AS (
        SELECT id, user_id, status, total_amount, created_at, updated_at FROM orders
        WHERE (user_id, id) > ($4, $3) AND user_id <= $4
        ORDER BY user_id, id LIMIT $1 OFFSET $2)
    SELECT page.*, i.id AS item_id, i.product_id, i.quantity, i.price
    FROM page LEFT JOIN order_items i ON i.order_id = page.id
    ORDER BY page.id, i.id";
pub const BY_STATUS: &str = "WITH page AS (
        SELECT id, user_id, status, total_amount, created_at, updated_at FROM orders
        WHERE (status, id) > ($4, $3) AND status <= $4
        ORDER BY status, id LIMIT $1 OFFSET $2)
    SELECT page.*, i.id AS item_id, i.product_id, i.quantity, i.price
    FROM page LEFT JOIN order_items i ON i.order_id = page.id
    ORDER BY page.id, i.id";
// Both filters: `(user_id, status, id)` answers equalities on its first two
// columns in id order, so a plain range on `id` is one scan in any plan.
pub const BY_USER_AND_STATUS: &str = "WITH page AS (
        SELECT id, user_id, status, total_amount, created_at, updated_at FROM orders
        WHERE user_id = $4 AND status = $5 AND id > $3
        ORDER BY id LIMIT $1 OFFSET $2)
    SELECT page.*, i.id AS item_id, i.product_id, i.quantity, i.price
    FROM page LEFT JOIN order_items i ON i.order_id = page.id
    ORDER BY page.id, i.id";

async fn handle(req: Request) -> Outcome {
    let page = Page::from_request(&req)?;
    let filters: Filters = req.query()?;
    let status = match filters.status.as_deref() {
        None => None,
        Some(text) => Some(
            OrderStatus::parse(text)
                .ok_or_else(|| query::invalid("status", OrderStatus::EXPECTED))?,
        ),
    };
    let status = status.map(OrderStatus::as_str);
    if filters.user_id.is_some_and(|id| id < 1) {
        return Err(query::invalid("user_id", "must be a positive integer"));
    }
    let conn = req.db().read(page.cost()).await?;
    let (limit, offset, after) = (page.fetch_limit(), page.offset, page.after);
    let rows = match (&filters.user_id, &status) {
        (None, None) => conn.query(ALL, &[&limit, &offset, &after]).await?,
        (Some(user), None) => {
            conn.query(BY_USER, &[&limit, &offset, &after, user])
                .await?
        }
        (None, Some(status)) => {
            conn.query(BY_STATUS, &[&limit, &offset, &after, status])
                .await?
        }
        (Some(user), Some(status)) => {
            conn.query(BY_USER_AND_STATUS, &[&limit, &offset, &after, user, status])
                .await?
        }
    };
    page.reply(&req, Order::from_rows(&rows)?)
}
