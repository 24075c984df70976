//! `DELETE /api/products/{id}`: 204; 409 while order items refer to it.

use contract::{Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Delete],
    path: "/api/products/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const DELETE: &str = "DELETE FROM products WHERE id = $1";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let deleted = req
        .db()
        .exclusive()
        .await?
        .execute(DELETE, &[&id])
        .await
        .map_err(|error| {
            error.or_referenced(format!(
                "product {id} is part of orders and cannot be deleted"
            ))
        })?;
    if deleted == 0 {
        return Err(Problem::not_found_id("product", id));
    }
    Ok(Reply::no_content())
}
