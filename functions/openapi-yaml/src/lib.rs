//! `GET /openapi.yaml`: the OpenAPI document, byte for byte the committed
//! `openapi.yaml`, built into the binary so that no file travels beside it.

use contract::etag::Document;
use contract::{Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/openapi.yaml",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

pub const DOCUMENT: &str = include_str!("../../../openapi.yaml");

/// The document and its tag, worked out when the binary is compiled.
static SERVED: Document = Document::new("application/yaml", DOCUMENT.as_bytes());

async fn handle(_req: Request) -> Outcome {
    Ok(Reply::document(&SERVED))
}
