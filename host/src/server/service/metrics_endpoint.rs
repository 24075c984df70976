//! `/metrics`: who may read it and what it answers, on either listener.

use bytes::Bytes;
use contract::{Method, Outcome, Reply};
use http::header::*;
use http::StatusCode;

use crate::policy::auth::ApiKeys;
use crate::telemetry::metrics::Metrics;

use super::refusals::method_not_allowed;

/// `/metrics`, on the main listener or on `METRICS_ADDR`'s: one rule for
/// both, so moving it to a listener of its own changes where it is served,
/// never who may read it.
pub struct MetricsEndpoint {
    pub metrics: Metrics,
    pub api_keys: ApiKeys,
}

impl MetricsEndpoint {
    pub fn answer<B>(&self, request: &http::Request<B>) -> Outcome {
        let method = request.method();
        if method != http::Method::GET && method != http::Method::HEAD {
            return Err(method_not_allowed("GET, HEAD"));
        }
        if self.api_keys.required(Some(Method::Get), "metrics") {
            self.api_keys.check(request.headers().get(AUTHORIZATION))?;
        }
        Ok(Reply {
            status: StatusCode::OK,
            content_type: Some(crate::telemetry::metrics::CONTENT_TYPE),
            body: Bytes::from({
                // The pool's state read now, then the exposition.
                crate::db::pool::export_metrics();
                self.metrics.render()
            }),
            headers: Vec::new(),
        })
    }
}
