//! `GET /openapi.yaml`: the OpenAPI document, byte for byte the committed
//! `openapi.yaml`, built into the binary so that no file travels beside it.

use contract::{Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/openapi.yaml",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

pub const DOCUMENT: &str = include_str!("../../../openapi.yaml");

async fn handle(_req: Request) -> Outcome {
    Ok(Reply::document("application/yaml", DOCUMENT.as_bytes()))
}
