//! What the host tells about itself: metrics, traces and their exporter,
//! the access log, the request's log scope and the log queue.

pub mod access_log;
pub(crate) mod log_format;
pub mod log_queue;
pub mod metrics;
pub mod otlp;
pub mod request_log;
mod span_fields;
mod trace_context;
pub mod traces;
