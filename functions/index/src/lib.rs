//! `GET /`: the service's name, version, and the route table with each
//! function's limits, as the runtime resolved them at start-up.

use contract::{Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

async fn handle(req: Request) -> Outcome {
    Reply::json(req.service())
}
