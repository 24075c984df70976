//! `GET /health`: liveness. Answers without the database, so an orchestrator
//! restarts the process only when the process itself is stuck.

use contract::{Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/health",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

async fn handle(_req: Request) -> Outcome {
    Ok(Reply::static_json(br#"{"status":"healthy"}"#))
}
