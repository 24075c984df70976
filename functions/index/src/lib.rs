//! `GET /`: the service's name, version, the route table with each
//! function's limits as the runtime resolved them at start-up, and where
//! the OpenAPI document is (also as `Link: rel="service-desc"`, RFC 8631).

use contract::header::LINK;
use contract::{Function, HeaderValue, Limits, Method, Outcome, Reply, Request, ServiceInfo};
use serde::Serialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

const SERVICE_DESC: &str = "</openapi.json>; rel=\"service-desc\"; type=\"application/json\", \
    </openapi.yaml>; rel=\"service-desc\"; type=\"application/yaml\"";

#[derive(Serialize)]
struct Index<'a> {
    #[serde(flatten)]
    service: &'a ServiceInfo,
    openapi: OpenApi,
}

#[derive(Serialize)]
struct OpenApi {
    json: &'static str,
    yaml: &'static str,
}

async fn handle(req: Request) -> Outcome {
    let index = Index {
        service: req.service(),
        openapi: OpenApi {
            json: "/openapi.json",
            yaml: "/openapi.yaml",
        },
    };
    Ok(Reply::json(&index)?.with_header(LINK, HeaderValue::from_static(SERVICE_DESC)))
}
