//! `GET /api/orders`: orders with their items, by id, a page at a time,
//! filtered by `?user_id=` and `?status=`.

use contract::model::{Order, OrderStatus};
use contract::{handler, query, Function, Limits, Method, Outcome, Page, Request};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: "orders-list",
    methods: &[Method::Get],
    path: "/api/orders",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
};

#[derive(Deserialize)]
struct Filters {
    user_id: Option<i64>,
    status: Option<String>,
}

const LIST: &str = "WITH page AS (
        SELECT id, user_id, status, total_amount, created_at, updated_at FROM orders
        WHERE ($3::bigint IS NULL OR user_id = $3) AND ($4::text IS NULL OR status = $4)
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
    let conn = req.db().shared().await?;
    let rows = conn
        .query(
            LIST,
            &[&page.fetch_limit(), &page.offset, &filters.user_id, &status],
        )
        .await?;
    page.reply(&req, Order::from_rows(&rows)?)
}
