//! `GET /health`: liveness. Answers without the database, so an orchestrator
//! restarts the process only when the process itself is stuck.

use contract::{handler, Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: "health",
    methods: &[Method::Get],
    path: "/health",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
};

async fn handle(_req: Request) -> Outcome {
    Ok(Reply::static_json(br#"{"status":"healthy"}"#))
}
