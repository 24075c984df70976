//! `GET /api/users/{id}`: one user, or 404.

use contract::model::User;
use contract::{FromRow, Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/users/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const GET: &str = "SELECT id, username, email, created_at, updated_at FROM users WHERE id = $1";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let row = req.db().shared().await?.query_opt(GET, &[&id]).await?;
    let row = row.ok_or_else(|| Problem::not_found_id("user", id))?;
    let user = User::from_row(&row)?;
    Ok(Reply::written(&user).with_etag(user.id, user.updated_at))
}
