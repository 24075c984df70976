//! `DELETE /api/products/{id}`: 204; 409 while order items refer to it.

use contract::{handler, Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: "products-delete",
    methods: &[Method::Delete],
    path: "/api/products/{id}",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
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
        return Err(Problem::not_found(format!("product {id} not found")));
    }
    Ok(Reply::no_content())
}
