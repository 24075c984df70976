//! `GET /db-check`: readiness. 200 while PostgreSQL answers, 503 while it
//! does not, so a load balancer sends traffic elsewhere.

use std::time::Duration;

use contract::{handler, Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: "db-check",
    methods: &[Method::Get],
    path: "/db-check",
    limits: Limits {
        timeout: Some(Duration::from_secs(5)),
        ..Limits::DEFAULT
    },
    handler: handler!(handle),
};

const PING: &str = "SELECT 1";

async fn handle(req: Request) -> Outcome {
    let unreachable = |_| Problem::unavailable("the database is unreachable");
    let conn = req.db().shared().await.map_err(unreachable)?;
    conn.query_one(PING, &[])
        .await
        .map_err(|error| unreachable(Problem::from(error)))?;
    Ok(Reply::static_json(
        br#"{"status":"success","database":"connected"}"#,
    ))
}
