//! Distributed traces end to end: a client's `traceparent` is continued,
//! the server span and one child span per statement reach a real OTLP/HTTP
//! receiver, decoded with the official protobuf definitions, and the
//! request's log lines carry the trace id.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the `traceparent` header and the spans it yields are what is tested.

use std::time::Duration;

use host::config::{Sampler, TraceSettings};
use http::Method;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use runtime::registry::FUNCTIONS;
use test_support::otlp::{Received, Receiver};
use test_support::{json, process, TestApp};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn attribute(span: &Span, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone()?.value)
}

fn text(span: &Span, key: &str) -> String {
    match attribute(span, key) {
        Some(Value::StringValue(text)) => text,
        other => panic!("{key} on {}: {other:?}", span.name),
    }
}

fn settings(receiver: &Receiver, sampler: Sampler) -> TraceSettings {
    TraceSettings {
        endpoint: format!("{}/v1/traces", receiver.endpoint())
            .parse()
            .unwrap(),
        headers: Vec::new(),
        timeout: Duration::from_secs(5),
        service_name: "shop-under-test".into(),
        resource: vec![("deployment.environment".into(), "test".into())],
        sampler,
        schedule_delay: Duration::from_millis(50),
        max_queue: 2048,
        max_batch: 512,
    }
}

const PARENT_BASED: Sampler = Sampler {
    ratio: 1.0,
    parent_based: true,
};

fn server_span(spans: &[Received]) -> &Span {
    let servers: Vec<&Span> = spans
        .iter()
        .map(|r| &r.span)
        .filter(|s| s.kind == SpanKind::Server as i32)
        .collect();
    assert_eq!(servers.len(), 1, "one server span: {spans:#?}");
    servers[0]
}

#[tokio::test]
async fn a_callers_trace_is_continued_with_a_span_per_statement() {
    let receiver = Receiver::start().await;
    let app = TestApp::start_with(FUNCTIONS, |s| {
        s.traces = Some(settings(&receiver, PARENT_BASED));
    })
    .await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let response = app
        .request(
            Method::GET,
            "/api/products/1",
            &[("traceparent", &traceparent), ("tracestate", "vendor=a1")],
            None,
        )
        .await;
    response.assert_status(200);

    let spans = receiver.trace(&unhex(TRACE_ID), 2).await;
    let server = server_span(&spans);
    assert_eq!(server.parent_span_id, unhex(CALLER_SPAN));
    assert_eq!(server.name, "GET /api/products/{id}");
    assert_eq!(server.trace_state, "vendor=a1");
    assert_eq!(text(server, "http.route"), "/api/products/{id}");
    assert_eq!(text(server, "url.path"), "/api/products/1");
    assert_eq!(text(server, "shop.function"), "products-get");
    assert_eq!(
        text(server, "shop.request_id"),
        response.header("x-request-id").unwrap()
    );
    assert_eq!(
        attribute(server, "http.response.status_code"),
        Some(Value::IntValue(200))
    );
    assert!(server.end_time_unix_nano >= server.start_time_unix_nano);

    let statements: Vec<&Span> = spans
        .iter()
        .map(|r| &r.span)
        .filter(|s| s.kind == SpanKind::Client as i32)
        .collect();
    assert_eq!(statements.len(), 1, "{statements:#?}");
    let select = statements[0];
    assert_eq!(select.parent_span_id, server.span_id);
    assert_eq!(select.name, "SELECT");
    assert_eq!(text(select, "db.system.name"), "postgresql");
    assert!(text(select, "db.query.text").contains("FROM products WHERE id = $1"));
    assert!(select.start_time_unix_nano >= server.start_time_unix_nano);
    assert!(select.end_time_unix_nano <= server.end_time_unix_nano);

    let resource = &spans[0].resource;
    let service = resource
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.clone()?.value);
    assert_eq!(service, Some(Value::StringValue("shop-under-test".into())));
    assert!(resource
        .attributes
        .iter()
        .any(|kv| kv.key == "deployment.environment"));
    assert!(receiver
        .content_types
        .lock()
        .unwrap()
        .iter()
        .all(|kind| kind == "application/x-protobuf"));
}

#[tokio::test]
async fn an_order_shows_each_statement_it_ran() {
    let receiver = Receiver::start().await;
    let app = TestApp::start_with(FUNCTIONS, |s| {
        s.traces = Some(settings(&receiver, PARENT_BASED));
    })
    .await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let traceparent = format!("00-{trace_id}-b7ad6b7169203331-01");
    let created = app
        .post_with(
            "/api/orders",
            &json!({"user_id": 1, "items": [{"product_id": 2, "quantity": 1}]}),
            &[
                ("traceparent", &traceparent),
                ("idempotency-key", "traced-1"),
            ],
        )
        .await;
    created.assert_status(201);
    // With a key: the locked transaction, statement by statement.
    let spans = receiver.trace(&unhex(trace_id), 4).await;
    let server = server_span(&spans);
    assert_eq!(server.name, "POST /api/orders");
    let names: Vec<&str> = spans
        .iter()
        .filter(|r| r.span.kind == SpanKind::Client as i32)
        .map(|r| r.span.name.as_str())
        .collect();
    assert_eq!(names.first(), Some(&"BEGIN"), "{names:?}");
    assert_eq!(names.last(), Some(&"COMMIT"), "{names:?}");
    assert!(names.len() >= 4, "{names:?}");

    // Without a key: the one statement that places the order.
    let single = "0af7651916cd43dd8448eb211c80319d";
    app.post_with(
        "/api/orders",
        &json!({"user_id": 1, "items": [{"product_id": 2, "quantity": 1}]}),
        &[("traceparent", &format!("00-{single}-b7ad6b7169203331-01"))],
    )
    .await
    .assert_status(201);
    let spans = receiver.trace(&unhex(single), 2).await;
    let statements: Vec<&Span> = spans
        .iter()
        .map(|r| &r.span)
        .filter(|s| s.kind == SpanKind::Client as i32)
        .collect();
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert!(text(statements[0], "db.query.text").contains("INSERT INTO orders"));
}

#[tokio::test]
async fn unsampled_callers_are_not_exported_and_new_traces_are() {
    let receiver = Receiver::start().await;
    let mut app = TestApp::start_with(FUNCTIONS, |s| {
        s.traces = Some(settings(&receiver, PARENT_BASED));
    })
    .await;
    let unsampled = "11111111111111111111111111111111";
    app.request(
        Method::GET,
        "/health",
        &[(
            "traceparent",
            &format!("00-{unsampled}-2222222222222222-00"),
        )],
        None,
    )
    .await
    .assert_status(200);
    // No traceparent: a trace of our own, sampled (parentbased_always_on).
    app.get("/api/users/1").await.assert_status(200);
    // A request no route serves: a span named by its method alone.
    app.get("/api/nothing").await.problem(404);

    // Shutting down flushes what is queued.
    app.running.take().unwrap().shutdown().await;
    let spans = receiver.spans();
    assert!(
        spans.iter().all(|r| r.span.trace_id != unhex(unsampled)),
        "an unsampled caller's trace was exported"
    );
    let own = spans
        .iter()
        .find(|r| r.span.name == "GET /api/users/{id}")
        .expect("the request without traceparent has a trace");
    assert!(own.span.parent_span_id.is_empty());
    assert_eq!(own.span.trace_id.len(), 16);
    assert!(spans.iter().any(|r| r.span.name == "GET"
        && attribute(&r.span, "http.response.status_code") == Some(Value::IntValue(404))));
}

#[tokio::test]
async fn always_off_exports_nothing_even_for_a_sampled_caller() {
    let receiver = Receiver::start().await;
    let mut app = TestApp::start_with(FUNCTIONS, |s| {
        s.traces = Some(settings(
            &receiver,
            Sampler {
                ratio: 0.0,
                parent_based: false,
            },
        ));
    })
    .await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    for _ in 0..5 {
        app.request(
            Method::GET,
            "/health",
            &[("traceparent", &traceparent)],
            None,
        )
        .await
        .assert_status(200);
    }
    app.running.take().unwrap().shutdown().await;
    assert!(receiver.spans().is_empty(), "always_off exported spans");
}

/// The binary as an operator runs it: the standard variables, and the
/// trace id on the request's log lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reads_otel_variables_and_logs_the_trace_id() {
    let receiver = Receiver::start().await;
    let database_url = test_support::fresh_database().await;
    let port = process::free_port();
    let mut child = process::runtime_command(env!("CARGO_BIN_EXE_runtime"), port)
        .env("WORKERS", "2")
        .env("DATABASE_URL", &database_url)
        .env("LOG_LEVEL", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", "shop-from-env")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .spawn()
        .expect("starting the runtime binary");
    process::wait_healthy(port).await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let answer = process::get(port, "/api/users/1", &[("traceparent", &traceparent)])
        .await
        .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let spans = receiver.trace(&unhex(TRACE_ID), 2).await;
    assert!(spans.len() >= 2, "{spans:#?}");
    assert!(spans[0]
        .resource
        .attributes
        .iter()
        .any(|kv| kv.key == "service.name"
            && kv.value.clone().and_then(|v| v.value)
                == Some(Value::StringValue("shop-from-env".into()))));

    let log = process::stop_and_read_log(&mut child).await;
    let access = log
        .lines()
        .find(|line| line.contains("access:") && line.contains("/api/users/1"))
        .unwrap_or_else(|| panic!("no access line:\n{log}"));
    assert!(access.contains(&format!("trace_id={TRACE_ID}")), "{access}");
}
