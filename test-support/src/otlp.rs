//! An OTLP/HTTP trace receiver on loopback, standing in for a collector:
//! it decodes each `POST /v1/traces` with the official protobuf
//! definitions (`opentelemetry-proto`) and keeps the spans for the test to
//! read. Stopped when dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::task::JoinHandle;

/// A span as it arrived, with the resource it was sent under.
#[derive(Clone, Debug)]
pub struct Received {
    pub resource: Resource,
    pub span: Span,
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    spans: Arc<Mutex<Vec<Received>>>,
    /// Each request's `Content-Type`, as the exporter sent it.
    pub content_types: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the OTLP receiver");
        let addr = listener.local_addr().expect("the receiver's address");
        let spans: Arc<Mutex<Vec<Received>>> = Arc::default();
        let content_types: Arc<Mutex<Vec<String>>> = Arc::default();
        let (kept, types) = (spans.clone(), content_types.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (kept, types) = (kept.clone(), types.clone());
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            let (kept, types) = (kept.clone(), types.clone());
                            async move {
                                let path_ok = request.uri().path() == "/v1/traces";
                                if let Some(kind) =
                                    request.headers().get(http::header::CONTENT_TYPE)
                                {
                                    types
                                        .lock()
                                        .unwrap()
                                        .push(kind.to_str().unwrap_or("").to_owned());
                                }
                                let body =
                                    request.into_body().collect().await.map(|b| b.to_bytes());
                                let decoded = body
                                    .ok()
                                    .and_then(|b| ExportTraceServiceRequest::decode(b).ok());
                                let status = match (path_ok, decoded) {
                                    (true, Some(export)) => {
                                        let mut kept = kept.lock().unwrap();
                                        for resource_spans in export.resource_spans {
                                            let resource =
                                                resource_spans.resource.unwrap_or_default();
                                            for scope in resource_spans.scope_spans {
                                                for span in scope.spans {
                                                    kept.push(Received {
                                                        resource: resource.clone(),
                                                        span,
                                                    });
                                                }
                                            }
                                        }
                                        200
                                    }
                                    (false, _) => 404,
                                    (true, None) => 400,
                                };
                                let answer = ExportTraceServiceResponse::default().encode_to_vec();
                                let mut response =
                                    http::Response::new(Full::new(Bytes::from(answer)));
                                *response.status_mut() =
                                    http::StatusCode::from_u16(status).unwrap();
                                response.headers_mut().insert(
                                    http::header::CONTENT_TYPE,
                                    http::HeaderValue::from_static("application/x-protobuf"),
                                );
                                Ok::<_, Infallible>(response)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            addr,
            spans,
            content_types,
            task,
        }
    }

    /// The URL to give as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of trace `trace_id`, once `count` of them have arrived
    /// (or what arrived within 10 s).
    pub async fn trace(&self, trace_id: &[u8], count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let spans: Vec<Received> = self
                .spans()
                .into_iter()
                .filter(|r| r.span.trace_id == trace_id)
                .collect();
            if spans.len() >= count || started.elapsed() > Duration::from_secs(10) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
