//! Read replicas against a real streaming replica: reads served by it (by
//! its own statistics, not the runtime's word), writes and fresh reads by
//! the primary, and a replica that is stopped, lags or is promoted taken out
//! of rotation and brought back by itself.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the requests only probe where reads are served; their answers are the
//! runtime's, not an operation's.

use std::time::{Duration, Instant};

use host::config::Secret;
use runtime::registry::FUNCTIONS;
use test_support::replica::StreamingPair;
use test_support::{json, TestApp};

/// Scans of `users` (by index or not) as the server at `url` counts them.
async fn user_index_scans(url: &str) -> i64 {
    let client = test_support::connect(url).await.expect("connecting");
    let row = client
        .query_one(
            "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'users'",
            &[],
        )
        .await
        .expect("reading the statistics");
    row.get(0)
}

/// Waits until `url`'s count reaches `at_least` (statistics are flushed a
/// second or so after the fact), for at most 15 s.
async fn scans_reach(url: &str, at_least: i64, app: &TestApp) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let scans = user_index_scans(url).await;
        if scans >= at_least || Instant::now() > deadline {
            return scans;
        }
        // A later transaction on the same backend flushes what it counted.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        app.get("/health").await;
    }
}

/// The value of the first metric line starting with `prefix`.
async fn metric(app: &TestApp, prefix: &str) -> Option<f64> {
    let text = app.get("/metrics").await.text();
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// Waits up to 10 s for `prefix` to read `value`.
async fn metric_becomes(app: &TestApp, prefix: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(app, prefix).await != Some(value) {
        assert!(
            Instant::now() < deadline,
            "{prefix} is {:?}, not {value}",
            metric(app, prefix).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_fall_back_to_the_primary_by_themselves() {
    let mut pair = StreamingPair::start();
    // The new database reaches the replica by replication.
    let (primary, replica) = pair.shop().await;
    let app = TestApp::start_on(primary.clone(), FUNCTIONS, |s| {
        s.database_read_urls = vec![Secret::new(replica.clone())];
        s.database_read_max_lag = Duration::from_millis(1500);
    })
    .await;
    let in_rotation = "db_replica_in_rotation{replica=\"1\"}";

    // Reads: served by the replica, as its own statistics say.
    let before = user_index_scans(&replica).await;
    for _ in 0..20 {
        app.get("/api/users/1").await.assert_status(200);
    }
    let after = scans_reach(&replica, before + 20, &app).await;
    assert!(
        after >= before + 20,
        "the replica served {} of 20 reads",
        after - before
    );

    // Writes: the primary (the replica would refuse them), then a fresh
    // read of the new row from the primary, at once.
    let user = app
        .post(
            "/api/users",
            &json!({"username": "fresh", "email": "fresh@example.com"}),
        )
        .await
        .assert_status(201)
        .json();
    let path = format!("/api/users/{}", user["id"]);
    let primary_before = user_index_scans(&primary).await;
    for _ in 0..10 {
        app.request(
            http::Method::GET,
            &path,
            &[("cache-control", "no-cache")],
            None,
        )
        .await
        .assert_status(200);
    }
    let primary_after = scans_reach(&primary, primary_before + 10, &app).await;
    assert!(
        primary_after >= primary_before + 10,
        "fresh reads did not reach the primary"
    );

    // The replica stops: reads go on, from the primary. A read already on
    // the replica's connection as it goes may get a 503 to retry; the next
    // ones do not.
    pair.replica.stop();
    let first = app.get("/api/users/1").await;
    if first.status != 200 {
        first.problem(503);
    }
    for _ in 0..10 {
        app.get("/api/users/1").await.assert_status(200);
    }
    metric_becomes(&app, in_rotation, 0.0).await;
    assert!(
        metric(
            &app,
            "db_replica_removals_total{reason=\"down\",replica=\"1\"}"
        )
        .await
            >= Some(1.0)
            || metric(
                &app,
                "db_replica_removals_total{replica=\"1\",reason=\"down\"}"
            )
            .await
                >= Some(1.0)
    );
    assert!(metric(&app, "db_replica_fallback_reads_total").await > Some(0.0));

    // It starts again: back in rotation, serving reads.
    pair.replica
        .restart(host::embedded::Shutdown::Fast)
        .expect("restarting the replica");
    metric_becomes(&app, in_rotation, 1.0).await;
    let before = user_index_scans(&replica).await;
    for _ in 0..10 {
        app.get("/api/users/1").await.assert_status(200);
    }
    assert!(scans_reach(&replica, before + 10, &app).await >= before + 10);

    // Replay paused while the primary writes: lagging, out; resumed, back.
    let replica_admin = test_support::connect(&replica).await.unwrap();
    replica_admin
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    for n in 0..3 {
        app.post(
            "/api/users",
            &json!({"username": format!("later{n}"), "email": format!("later{n}@example.com")}),
        )
        .await
        .assert_status(201);
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    metric_becomes(&app, in_rotation, 0.0).await;
    app.get("/api/users/1").await.assert_status(200);
    replica_admin
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    metric_becomes(&app, in_rotation, 1.0).await;

    // Promoted: no longer a replica of this primary, so out for good.
    replica_admin
        .batch_execute("SELECT pg_promote()")
        .await
        .unwrap();
    metric_becomes(&app, in_rotation, 0.0).await;
    app.get("/api/users/1").await.assert_status(200);
}
