//! `DELETE /api/products/{id}`: 204; 409 while order items refer to it.

use contract::etag::{self, Condition};
use contract::model::Product;
use contract::{Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Delete],
    path: "/api/products/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const DELETE: &str = "DELETE FROM products
    WHERE id = $1 AND ($2::timestamptz[] IS NULL OR updated_at = ANY($2))
        AND updated_at <> ALL($3)";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let condition = req.condition(id)?;
    let versions = condition.as_ref().and_then(Condition::versions);
    let refused = condition.as_ref().map_or(&[][..], Condition::refused);
    let conn = req.db().exclusive().await?;
    let deleted = conn
        .execute(DELETE, &[&id, &versions, &refused])
        .await
        .map_err(|error| {
            error.or_referenced(format!(
                "product {id} is part of orders and cannot be deleted"
            ))
        })?;
    if deleted == 0 {
        return Err(
            etag::unwritten(&conn, Product::VERSION, "product", id, condition.as_ref()).await,
        );
    }
    Ok(Reply::no_content())
}
