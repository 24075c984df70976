//! Distributed traces: W3C Trace Context in, one server span per request
//! and a child span per database statement out, through [`crate::telemetry::otlp`].
//!
//! A request that brings `traceparent` continues the caller's trace (and,
//! with a `parentbased_*` sampler, its sampling decision); any other starts
//! one. Its trace id goes on every log line of the request, also when no
//! exporter is configured, so a caller's trace can be found in our logs.
//! Without an exporter, a request without `traceparent` costs one header
//! lookup.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use contract::trace::{Recorder, Statement};
use http::header::HeaderMap;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span, Status};

use crate::config::{Sampler, TraceSettings};
use crate::telemetry::otlp::Exporter;
use crate::telemetry::span_fields::{int, operation, text, unix_nanos};
pub use crate::telemetry::trace_context::{hex, Parent};

impl Sampler {
    /// Whether a trace is kept: the parent's word under a parent-based
    /// sampler, else the trace id against the ratio (so every service
    /// that samples by ratio keeps the same traces).
    fn keeps(&self, trace_id: &[u8; 16], parent: Option<&Parent>) -> bool {
        if let (true, Some(parent)) = (self.parent_based, parent) {
            return parent.sampled;
        }
        if self.ratio >= 1.0 {
            return true;
        }
        let mut low = [0u8; 8];
        low.copy_from_slice(&trace_id[8..]);
        (u64::from_be_bytes(low) as f64) < self.ratio * (u64::MAX as f64)
    }
}

/// The process's tracer, shared by every worker made from one `Settings`.
#[derive(Clone, Default)]
pub struct TracerCell(Arc<OnceLock<Arc<Tracer>>>);

impl std::fmt::Debug for TracerCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TracerCell")
    }
}

impl TracerCell {
    /// The tracer for `settings`, started on first use.
    pub fn get(&self, settings: &TraceSettings) -> Arc<Tracer> {
        self.0
            .get_or_init(|| Arc::new(Tracer::start(settings.clone())))
            .clone()
    }
}

/// Samples requests and sends their spans to the exporter.
pub struct Tracer {
    sampler: Sampler,
    exporter: Exporter,
}

/// One request's trace, from its start to its end.
pub struct Trace {
    pub trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<Parent>,
    started: SystemTime,
    /// Set when the trace is sampled: the request's statements go here.
    pub recorder: Option<Recorder>,
}

/// What the server span says of the request, once it is answered.
pub struct Finished<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub path: &'a str,
    pub function: Option<&'static str>,
    pub status: u16,
    pub request_id: &'a str,
}

impl Tracer {
    fn start(settings: TraceSettings) -> Tracer {
        Tracer {
            sampler: settings.sampler,
            exporter: Exporter::start(settings),
        }
    }

    /// Starts the trace of a request with these headers.
    pub fn begin(&self, headers: &HeaderMap) -> Trace {
        let parent = Parent::from_headers(headers);
        let trace_id = match &parent {
            Some(parent) => parent.trace_id,
            None => nonzero(rand::random::<[u8; 16]>),
        };
        let sampled = self.sampler.keeps(&trace_id, parent.as_ref());
        Trace {
            trace_id,
            span_id: nonzero(rand::random::<[u8; 8]>),
            parent,
            started: SystemTime::now(),
            recorder: sampled.then(Recorder::default),
        }
    }

    /// Ends a trace: a sampled one's spans go to the exporter's queue.
    pub fn end(&self, trace: Trace, finished: &Finished<'_>) {
        let Some(recorder) = &trace.recorder else {
            return;
        };
        let flags = 1;
        let trace_state = trace
            .parent
            .as_ref()
            .map(|p| p.trace_state.clone())
            .unwrap_or_default();
        let name = match finished.function {
            Some(_) => format!("{} {}", finished.method, finished.route),
            None => finished.method.to_owned(),
        };
        let mut attributes = vec![
            text("http.request.method", finished.method),
            text("http.route", finished.route),
            text("url.path", finished.path),
            int("http.response.status_code", i64::from(finished.status)),
            text("shop.request_id", finished.request_id),
        ];
        if let Some(function) = finished.function {
            attributes.push(text("shop.function", function));
        }
        let server = Span {
            trace_id: trace.trace_id.to_vec(),
            span_id: trace.span_id.to_vec(),
            trace_state: trace_state.clone(),
            parent_span_id: trace
                .parent
                .as_ref()
                .map(|p| p.span_id.to_vec())
                .unwrap_or_default(),
            flags,
            name,
            kind: SpanKind::Server as i32,
            start_time_unix_nano: unix_nanos(trace.started),
            end_time_unix_nano: unix_nanos(SystemTime::now()),
            attributes,
            status: (finished.status >= 500).then(|| Status {
                code: StatusCode::Error as i32,
                message: String::new(),
            }),
            ..Default::default()
        };
        let mut spans = Vec::with_capacity(4);
        spans.push(server);
        for statement in recorder.take() {
            spans.push(statement_span(&trace, &trace_state, &statement));
        }
        self.exporter.send(spans);
    }

    /// Sends what is queued, for a shutdown; waits at most the export timeout.
    pub async fn flush(&self) {
        self.exporter.flush().await;
    }
}

fn statement_span(trace: &Trace, trace_state: &str, statement: &Statement) -> Span {
    let operation = operation(&statement.sql);
    Span {
        trace_id: trace.trace_id.to_vec(),
        span_id: nonzero(rand::random::<[u8; 8]>).to_vec(),
        trace_state: trace_state.to_owned(),
        parent_span_id: trace.span_id.to_vec(),
        flags: 1,
        name: operation.clone(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: unix_nanos(statement.started),
        end_time_unix_nano: unix_nanos(statement.started + statement.duration),
        attributes: vec![
            text("db.system.name", "postgresql"),
            text("db.operation.name", &operation),
            text("db.query.text", &statement.sql),
        ],
        status: statement.failed.then(|| Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        }),
        ..Default::default()
    }
}

fn nonzero<const N: usize>(random: impl Fn() -> [u8; N]) -> [u8; N] {
    loop {
        let id = random();
        if id != [0; N] {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::trace_context::{TRACEPARENT, TRACESTATE};
    use http::HeaderValue;

    fn headers(traceparent: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(&TRACEPARENT, HeaderValue::from_static(traceparent));
        headers
    }

    #[test]
    fn a_statement_is_named_by_what_it_does() {
        assert_eq!(operation("select 1"), "SELECT");
        assert_eq!(operation("  UPDATE products SET x = 1"), "UPDATE");
        assert_eq!(
            operation(
                "WITH stock AS (UPDATE products SET s = s - 1 RETURNING id), \
                 placed AS (SELECT id FROM stock) INSERT INTO orders SELECT * FROM placed"
            ),
            "INSERT"
        );
        assert_eq!(operation("with x as (select 1) select * from x"), "SELECT");
        assert_eq!(
            operation("WITH update_log AS (SELECT 1) DELETE FROM t"),
            "DELETE"
        );
        assert_eq!(operation("WITH x AS (SELECT 1)"), "WITH");
        assert_eq!(operation(""), "SQL");
    }

    #[test]
    fn traceparent_is_read_as_the_spec_writes_it() {
        let parent = Parent::from_headers(&headers(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ))
        .unwrap();
        assert_eq!(hex(&parent.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&parent.span_id), "00f067aa0ba902b7");
        assert!(parent.sampled);
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "nonsense",
        ] {
            assert!(Parent::from_headers(&headers(bad)).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_tracestate_past_the_spec_bounds_is_dropped() {
        let with_state = |states: &[String]| {
            let mut headers = headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
            for state in states {
                headers.append(&TRACESTATE, HeaderValue::try_from(state.as_str()).unwrap());
            }
            Parent::from_headers(&headers).unwrap().trace_state
        };
        let two = ["a=1".to_owned(), "b=2".to_owned()];
        assert_eq!(with_state(&two), "a=1,b=2");
        let members: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(with_state(&members[..32]).split(',').count(), 32);
        assert_eq!(with_state(&members), "");
        assert_eq!(with_state(&["a=".to_owned() + &"x".repeat(600)]), "");
        let longest = "a=".to_owned() + &"x".repeat(510);
        assert_eq!(with_state(std::slice::from_ref(&longest)), longest);
        assert_eq!(with_state(&["a=".to_owned() + &"x".repeat(200_000)]), "");
    }

    #[test]
    fn samplers_follow_the_parent_or_the_ratio() {
        let parent = |sampled| Parent {
            trace_id: [1; 16],
            span_id: [1; 8],
            sampled,
            trace_state: String::new(),
        };
        let based = Sampler {
            ratio: 1.0,
            parent_based: true,
        };
        assert!(!based.keeps(&[1; 16], Some(&parent(false))));
        assert!(based.keeps(&[1; 16], None));
        let never = Sampler {
            ratio: 0.0,
            parent_based: false,
        };
        assert!(!never.keeps(&[1; 16], Some(&parent(true))));
        let half = Sampler {
            ratio: 0.5,
            parent_based: false,
        };
        let kept = (0..1000u32)
            .filter(|_| half.keeps(&rand::random::<[u8; 16]>(), None))
            .count();
        assert!((350..650).contains(&kept), "{kept} of 1000");
    }
}
