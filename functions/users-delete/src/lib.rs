//! `DELETE /api/users/{id}`: 204; 409 while the user has orders, which keep
//! their history.

use contract::{Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Delete],
    path: "/api/users/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const DELETE: &str = "DELETE FROM users WHERE id = $1";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let deleted = req
        .db()
        .exclusive()
        .await?
        .execute(DELETE, &[&id])
        .await
        .map_err(|error| {
            error.or_referenced(format!("user {id} has orders and cannot be deleted"))
        })?;
    if deleted == 0 {
        return Err(Problem::not_found_id("user", id));
    }
    Ok(Reply::no_content())
}
