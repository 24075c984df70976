//! The metrics listener, when `METRICS_ADDR` moves `/metrics` off the
//! main one: it answers that path and nothing else.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::server::listener::Serve;
use crate::server::service::{self, MetricsEndpoint, Response};

/// The metrics listener when `METRICS_ADDR` moves it off the main one.
pub struct MetricsOnly(pub MetricsEndpoint);

impl Serve for MetricsOnly {
    async fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
        _peer: SocketAddr,
    ) -> Response {
        let outcome = if request.uri().path() == "/metrics" {
            self.0.answer(&request)
        } else {
            Err(contract::Problem::not_found("only /metrics is served here"))
        };
        let delivery = service::Delivery {
            accept_encoding: request.headers().get(http::header::ACCEPT_ENCODING),
            not_modified_length: None,
        };
        service::render(outcome, delivery, |_| {})
    }
}
