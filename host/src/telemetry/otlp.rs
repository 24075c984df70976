//! The OTLP/HTTP span exporter: a bounded queue the request path only
//! appends to, and a thread of its own that batches the spans and POSTs
//! them as protobuf (`ExportTraceServiceRequest`) to the collector, every
//! `OTEL_BSP_SCHEDULE_DELAY` or as soon as a batch is full.
//!
//! Export never slows a request: a full queue drops spans (counted in
//! `otel_spans_dropped_total`), and a collector that is down or slow costs
//! the exporter's thread its time, not the workers'. The queue is bounded
//! in spans (`OTEL_BSP_MAX_QUEUE_SIZE`) and in bytes ([`MAX_QUEUE_BYTES`]):
//! what a caller writes (a long path, a `tracestate`) makes spans larger,
//! never the memory a stalled collector can hold.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use tokio::sync::{mpsc, oneshot};

use crate::config::TraceSettings;
use crate::telemetry::span_fields::text;

pub const SPANS_EXPORTED: &str = "otel_spans_exported_total";
pub const SPANS_DROPPED: &str = "otel_spans_dropped_total";
pub const EXPORT_FAILURES: &str = "otel_export_failures_total";

/// The most bytes of encoded spans waiting for the export thread.
pub const MAX_QUEUE_BYTES: usize = 16 * 1024 * 1024;

enum Message {
    /// Spans, and their encoded size.
    Spans(Vec<Span>, usize),
    Flush(oneshot::Sender<()>),
}

/// What the queue holds, in spans and in bytes, against its bounds: the
/// request path takes room, the export thread gives it back.
pub struct QueueRoom {
    spans: AtomicUsize,
    bytes: AtomicUsize,
    max_spans: usize,
    max_bytes: usize,
}

impl QueueRoom {
    pub fn new(max_spans: usize, max_bytes: usize) -> QueueRoom {
        QueueRoom {
            spans: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            max_spans,
            max_bytes,
        }
    }

    /// Room for `spans` of `bytes`, or false (and nothing taken).
    pub fn take(&self, spans: usize, bytes: usize) -> bool {
        let spans_before = self.spans.fetch_add(spans, Ordering::Relaxed);
        let bytes_before = self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if spans_before + spans > self.max_spans || bytes_before + bytes > self.max_bytes {
            self.give_back(spans, bytes);
            return false;
        }
        true
    }

    pub fn give_back(&self, spans: usize, bytes: usize) {
        self.spans.fetch_sub(spans, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The request path's end of the exporter.
pub struct Exporter {
    queue: mpsc::UnboundedSender<Message>,
    /// Spans sent and not yet taken into a batch: the queue's bounds.
    room: Arc<QueueRoom>,
    timeout: Duration,
}

impl Exporter {
    /// Starts the export thread.
    pub fn start(settings: TraceSettings) -> Exporter {
        // Exported from the start (at 0 in a new process), so that a rate,
        // and the alert on dropped spans, sees the first drop. Not
        // `absolute(0)`: a second exporter in one process keeps the counts.
        for counter in [SPANS_EXPORTED, SPANS_DROPPED, EXPORT_FAILURES] {
            metrics::counter!(counter).increment(0);
        }
        let (queue, receiver) = mpsc::unbounded_channel();
        let room = Arc::new(QueueRoom::new(settings.max_queue, MAX_QUEUE_BYTES));
        let exporter = Exporter {
            queue,
            room: room.clone(),
            timeout: settings.timeout,
        };
        let started = std::thread::Builder::new()
            .name("otlp-export".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => runtime.block_on(run(settings, receiver, room)),
                    Err(error) => tracing::error!(%error, "the span exporter cannot start"),
                }
            });
        if let Err(error) = started {
            tracing::error!(%error, "the span exporter's thread cannot start; spans are dropped");
        }
        exporter
    }

    /// Queues one request's spans, or drops them when the queue is full.
    pub fn send(&self, spans: Vec<Span>) {
        let count = spans.len();
        let bytes = spans.iter().map(prost::Message::encoded_len).sum();
        let sent = self.room.take(count, bytes)
            && match self.queue.send(Message::Spans(spans, bytes)) {
                Ok(()) => true,
                Err(_) => {
                    self.room.give_back(count, bytes);
                    false
                }
            };
        if !sent {
            metrics::counter!(SPANS_DROPPED).increment(count as u64);
        }
    }

    /// Exports what is queued now; waits at most the export timeout.
    pub async fn flush(&self) {
        let (done, exported) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(self.timeout, exported).await;
        }
    }
}

/// The export thread: batch, encode, POST, until every sender is gone.
async fn run(
    settings: TraceSettings,
    mut receiver: mpsc::UnboundedReceiver<Message>,
    room: Arc<QueueRoom>,
) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let resource = resource(&settings);
    let mut batch: Vec<Span> = Vec::new();
    let mut tick = tokio::time::interval(settings.schedule_delay);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = receiver.recv() => match message {
                Some(Message::Spans(spans, bytes)) => {
                    room.give_back(spans.len(), bytes);
                    batch.extend(spans);
                    if batch.len() >= settings.max_batch {
                        export(&client, &settings, &resource, &mut batch).await;
                    }
                }
                Some(Message::Flush(done)) => {
                    export(&client, &settings, &resource, &mut batch).await;
                    let _ = done.send(());
                }
                None => {
                    export(&client, &settings, &resource, &mut batch).await;
                    return;
                }
            },
            _ = tick.tick() => export(&client, &settings, &resource, &mut batch).await,
        }
    }
}

fn resource(settings: &TraceSettings) -> Resource {
    let mut attributes = vec![
        text("service.name", &settings.service_name),
        text("service.version", env!("CARGO_PKG_VERSION")),
    ];
    attributes.extend(
        settings
            .resource
            .iter()
            .map(|(key, value)| text(key, value)),
    );
    Resource {
        attributes,
        ..Default::default()
    }
}

/// POSTs `batch` (emptied either way): spans are not kept for a retry, so a
/// collector that is down costs spans, never memory.
async fn export(
    client: &Client<HttpConnector, Full<Bytes>>,
    settings: &TraceSettings,
    resource: &Resource,
    batch: &mut Vec<Span>,
) {
    while !batch.is_empty() {
        let take = batch.len().min(settings.max_batch);
        let spans: Vec<Span> = batch.drain(..take).collect();
        let count = spans.len() as u64;
        let body = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: crate::config::identity::SERVICE_NAME.into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec();
        let mut request = http::Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = settings.endpoint.clone();
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-protobuf"),
        );
        for (name, value) in &settings.headers {
            headers.insert(name.clone(), value.clone());
        }
        match tokio::time::timeout(settings.timeout, client.request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => {
                metrics::counter!(SPANS_EXPORTED).increment(count);
            }
            outcome => {
                let reason = match outcome {
                    Ok(Ok(response)) => format!("the collector answered {}", response.status()),
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => format!("no answer within {:?}", settings.timeout),
                };
                metrics::counter!(EXPORT_FAILURES).increment(1);
                metrics::counter!(SPANS_DROPPED).increment(count);
                tracing::warn!(endpoint = %settings.endpoint, %reason, spans = count, "spans could not be exported");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bounded_in_spans_and_in_bytes() {
        let room = QueueRoom::new(10, 1000);
        assert!(room.take(5, 400));
        assert!(!room.take(1, 601), "past the bytes");
        assert!(!room.take(6, 1), "past the spans");
        assert!(room.take(5, 600));
        assert!(!room.take(1, 0));
        room.give_back(5, 400);
        assert!(room.take(1, 400));
        assert!(!room.take(1, 1));
    }
}
