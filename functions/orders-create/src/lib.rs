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
//! With a key, one transaction in which a retry finds the first order: see
//! [`idempotency`].
//!
//! The rest of the crate: [`new_order`] is the body and its validation,
//! [`statements`] the SQL, [`stock`] the products checked against the order.

mod idempotency;
mod new_order;
mod statements;
mod stock;

use contract::model::Order;
use contract::{Function, Limits, Method, Outcome, Reply, Request};

use new_order::{validate, wanted, NewOrder};
use statements::{CHECK, PLACE};
use stock::{refused, why_refused};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Post],
    path: "/api/orders",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

async fn handle(req: Request) -> Outcome {
    let order: NewOrder = req.json()?;
    validate(&order)?;
    match idempotency::idempotency_key(&req)? {
        None => place(&req, &order).await,
        Some(key) => idempotency::place_once(&req, &order, key).await,
    }
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
    Ok(created(&Order::one(&rows)?))
}

/// The 201 for an order placed now or before: where it is, as it is, and
/// its version.
fn created(order: &Order) -> Reply {
    Reply::created(format!("/api/orders/{}", order.id), order).with_etag(order.id, order.updated_at)
}
