//! `GET /db-check`: readiness. 200 while PostgreSQL answers, 503 while it
//! does not, so a load balancer sends traffic elsewhere.

use std::time::Duration;

use contract::{Function, Limits, Method, Outcome, Problem, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/db-check",
    limits: Limits {
        timeout: Some(Duration::from_secs(5)),
        ..Limits::DEFAULT
    },
    handler: |req| Box::pin(handle(req)),
};

const PING: &str = "SELECT 1";

/// How long a ping may take before the database counts as unreachable: a
/// pooler queues a query while it cannot reach the server, so without a
/// bound the probe would wait out its time limit and answer 504.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

async fn handle(req: Request) -> Outcome {
    let unreachable = |_| Problem::unavailable("the database is unreachable");
    let ping = async {
        // The primary: readiness means writes can be served.
        let conn = req.db().fresh().await?;
        conn.query_one(PING, &[]).await.map_err(Problem::from)
    };
    tokio::time::timeout(PATIENCE, ping)
        .await
        .map_err(|_| Problem::unavailable("the database is unreachable"))?
        .map_err(unreachable)?;
    Ok(Reply::static_json(
        br#"{"status":"success","database":"connected"}"#,
    ))
}
