//! `PATCH /api/orders/{id}`: `{"status"}`. pending → confirmed → shipped →
//! delivered; pending or confirmed → cancelled, which puts the stock back.
//! Any other move is 409. One transaction, the order row locked.

use contract::etag;
use contract::model::{Order, OrderStatus};
use contract::{Function, Limits, Method, Outcome, Problem, Reply, Request};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Patch],
    path: "/api/orders/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    status: OrderStatus,
}

const LOCK_ORDER: &str = "SELECT status, updated_at FROM orders WHERE id = $1 FOR UPDATE";
// Products are locked in id order, as order creation locks them, so the
// two never deadlock.
const LOCK_PRODUCTS: &str = "SELECT id FROM products
    WHERE id IN (SELECT product_id FROM order_items WHERE order_id = $1)
    ORDER BY id FOR UPDATE";
const RESTOCK: &str = "UPDATE products p SET stock_quantity = p.stock_quantity + s.quantity
    FROM (SELECT product_id, sum(quantity)::integer AS quantity
          FROM order_items WHERE order_id = $1 GROUP BY product_id) s
    WHERE p.id = s.product_id";
const SET_STATUS: &str = "UPDATE orders SET status = $2 WHERE id = $1";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let next = req.json::<Change>()?.status;
    let condition = req.condition(id)?;

    let mut conn = req.db().exclusive().await?;
    let tx = conn.transaction().await?;
    let row = tx.query_opt(LOCK_ORDER, &[&id]).await?;
    let row = row.ok_or_else(|| Problem::not_found_id("order", id))?;
    let current: OrderStatus = row
        .try_get::<_, &str>(0)?
        .parse()
        .map_err(|_| Problem::internal())?;
    // Checked on the locked row: no other write can come between.
    let version = row.try_get(1)?;
    if condition.is_some_and(|wanted| !wanted.matches(version)) {
        return Err(etag::precondition_failed("order", id, version));
    }
    if !current.can_become(next) {
        return Err(Problem::conflict(format!(
            "an order that is {} cannot become {}",
            current.as_str(),
            next.as_str()
        )));
    }
    if next == OrderStatus::Cancelled {
        tx.query(LOCK_PRODUCTS, &[&id]).await?;
        tx.execute(RESTOCK, &[&id]).await.map_err(|error| {
            if error.code() == Some(&contract::db::SqlState::NUMERIC_VALUE_OUT_OF_RANGE) {
                Problem::conflict(
                    "putting the stock back would exceed the largest stock a product can hold",
                )
            } else {
                error.into()
            }
        })?;
    }
    tx.execute(SET_STATUS, &[&id, &next.as_str()]).await?;
    let rows = tx.query_and_commit(Order::SELECT_BY_ID, &[&id]).await?;
    let order = Order::one(&rows)?;
    Ok(Reply::written(&order).with_etag(order.id, order.updated_at))
}
