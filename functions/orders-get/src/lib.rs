//! `GET /api/orders/{id}`: one order with its items, in one statement.

use contract::model::Order;
use contract::{Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/orders/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let rows = req
        .db()
        .shared()
        .await?
        .query(Order::SELECT_BY_ID, &[&id])
        .await?;
    match Order::from_rows(&rows)?.pop() {
        Some(order) => Ok(Reply::written(&order).with_etag(order.id, order.updated_at)),
        None => Err(Problem::not_found_id("order", id)),
    }
}
