//! `GET /api/orders/{id}`: one order with its items, in one statement.

use contract::model::Order;
use contract::{handler, Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: "orders-get",
    methods: &[Method::Get],
    path: "/api/orders/{id}",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
};

const GET: &str = "SELECT o.id, o.user_id, o.status, o.total_amount, o.created_at, o.updated_at,
        i.id AS item_id, i.product_id, i.quantity, i.price
    FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
    WHERE o.id = $1 ORDER BY i.id";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let rows = req.db().shared().await?.query(GET, &[&id]).await?;
    match Order::from_rows(&rows)?.pop() {
        Some(order) => Reply::json(&order),
        None => Err(Problem::not_found(format!("order {id} not found"))),
    }
}
