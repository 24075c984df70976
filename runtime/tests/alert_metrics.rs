//! Every metric that an alerting rule or a Grafana panel queries exists in
//! the scrape of a real runtime: container/prometheus/metrics.txt (which
//! `metric_names.py --check` keeps equal to what the rules and dashboards
//! name) against `/metrics` of the host serving every function over a real
//! primary with a streaming replica, and exporting spans to a real OTLP
//! receiver, after a request of each function group. A metric renamed in
//! the code fails here, not silently in the pager.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the requests only feed the scrape, whose metric names are what is
//! tested.

use std::time::Duration;

use host::config::{Sampler, Secret, TraceSettings};
use runtime::registry::FUNCTIONS;
use test_support::otlp::Receiver;
use test_support::replica::StreamingPair;
use test_support::{json, TestApp};

const LISTING: &str = include_str!("../../container/prometheus/metrics.txt");

/// Whether a sample line of `exposition` is `entry`: a bare name, or
/// `name{le="…"}`, a bucket with that bound.
fn exported(exposition: &str, entry: &str) -> bool {
    let (name, le) = match entry.split_once('{') {
        Some((name, matcher)) => (name, Some(matcher.trim_end_matches('}'))),
        None => (entry, None),
    };
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|line| {
            let rest = match line.strip_prefix(name) {
                Some(rest) if rest.starts_with(['{', ' ']) => rest,
                _ => return false,
            };
            le.is_none_or(|le| {
                rest.contains(&format!("{{{le},")) || rest.contains(&format!(",{le}"))
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_the_rules_and_dashboards_is_exported() {
    let pair = StreamingPair::start();
    let (primary, replica) = pair.shop().await;
    let receiver = Receiver::start().await;
    let traces = TraceSettings {
        endpoint: format!("{}/v1/traces", receiver.endpoint())
            .parse()
            .unwrap(),
        headers: Vec::new(),
        timeout: Duration::from_secs(5),
        service_name: "shop-under-test".into(),
        resource: Vec::new(),
        sampler: Sampler {
            ratio: 1.0,
            parent_based: true,
        },
        schedule_delay: Duration::from_millis(50),
        max_queue: 2048,
        max_batch: 512,
    };
    let app = TestApp::start_on(primary, FUNCTIONS, |s| {
        s.database_read_urls = vec![Secret::new(replica)];
        s.traces = Some(traces);
    })
    .await;

    // One request of each function group the SLOs cover, and the probe.
    app.get("/api/users/1").await.assert_status(200);
    app.get("/db-check").await.assert_status(200);
    app.post(
        "/api/users",
        &json!({"username": "metrics", "email": "metrics@example.com"}),
    )
    .await
    .assert_status(201);
    app.post(
        "/api/orders",
        &json!({"user_id": 1, "items": [{"product_id": 1, "quantity": 1}]}),
    )
    .await
    .assert_status(201);
    let exposition = app.get("/metrics").await.assert_status(200).text();

    let entries: Vec<&str> = LISTING
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        entries.len() > 10,
        "metrics.txt lists {} metrics",
        entries.len()
    );
    let missing: Vec<&&str> = entries
        .iter()
        .filter(|entry| !exported(&exposition, entry))
        .collect();
    assert!(
        missing.is_empty(),
        "queried by a rule or a dashboard but not exported: {missing:?}\n{exposition}"
    );
}

#[test]
fn a_renamed_metric_or_bucket_is_missed() {
    let exposition = "# TYPE a_total counter\na_total 0\n\
                      h_bucket{function=\"f\",le=\"0.1\"} 1\nh_bucket{le=\"0.25\",function=\"f\"} 1\n";
    assert!(exported(exposition, "a_total"));
    assert!(!exported(exposition, "a"));
    assert!(!exported(exposition, "b_total"));
    assert!(exported(exposition, "h_bucket{le=\"0.1\"}"));
    assert!(exported(exposition, "h_bucket{le=\"0.25\"}"));
    assert!(!exported(exposition, "h_bucket{le=\"0.5\"}"));
}
