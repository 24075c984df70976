//! `GET /api/products/{id}`: one product, or 404.

use contract::model::Product;
use contract::{FromRow, Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/products/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const GET: &str = "SELECT id, name, description, price, stock_quantity, created_at, updated_at
    FROM products WHERE id = $1";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let row = req.db().shared().await?.query_opt(GET, &[&id]).await?;
    let row = row.ok_or_else(|| Problem::not_found_id("product", id))?;
    let product = Product::from_row(&row)?;
    Ok(Reply::written(&product).with_etag(product.id, product.updated_at))
}
