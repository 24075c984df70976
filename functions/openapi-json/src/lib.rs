//! `GET /openapi.json`: the OpenAPI document as JSON, for the tools that
//! read only JSON; converted from the committed `openapi.yaml` at build time.

use contract::etag::Document;
use contract::{Function, Limits, Method, Outcome, Reply, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/openapi.json",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

pub const DOCUMENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The document and its tag, worked out when the binary is compiled.
static SERVED: Document = Document::new("application/json", DOCUMENT);

async fn handle(_req: Request) -> Outcome {
    Ok(Reply::document(&SERVED))
}
