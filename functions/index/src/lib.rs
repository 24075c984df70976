//! `GET /`: the service's name, version, and the route table with each
//! function's limits, as the runtime resolved them at start-up.

use contract::{handler, Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: "index",
    methods: &[Method::Get],
    path: "/",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
};

async fn handle(req: Request) -> Outcome {
    Reply::json(req.service())
}
