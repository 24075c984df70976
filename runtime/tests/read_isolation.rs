//! Reads whose cost depends on their input (a search, a price range, a
//! deep offset) never share a connection with other reads: one that waits
//! holds up its own function only. The wait here is a table lock, so the
//! test needs no timing: a read queued behind a blocked one on a shared
//! connection would wait as long as the lock is held.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the requests only probe which connection serves a read.

use std::time::Duration;

use runtime::registry::FUNCTIONS;
use test_support::TestApp;

/// Waits (bounded) until `count` statements wait on a lock.
async fn blocked(app: &TestApp, count: i64) {
    for _ in 0..100 {
        let waiting = app
            .scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            .await;
        if waiting >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the slow reads never reached the database");
}

#[tokio::test]
async fn a_read_that_costs_what_its_input_asks_never_holds_up_another_functions_reads() {
    // One worker with one shared connection: every shared read would queue
    // on the same socket.
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.workers = 1;
        settings.shared_connections = 1;
    })
    .await;
    let locker = test_support::connect(&app.database_url)
        .await
        .expect("a second connection");
    locker
        .batch_execute("BEGIN; LOCK TABLE products, orders IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("the lock");

    let slow_paths: [&'static str; 5] = [
        "/api/products?q=lamp",
        "/api/products?min_price=1&max_price=5",
        "/api/products?in_stock=false",
        "/api/products?offset=1",
        "/api/orders?offset=1",
    ];
    let app = std::sync::Arc::new(app);
    let slow: Vec<_> = slow_paths
        .iter()
        .map(|&path| {
            let app = app.clone();
            tokio::spawn(async move { app.get(path).await.status.as_u16() })
        })
        .collect();
    blocked(&app, slow_paths.len() as i64).await;

    // The reads of other functions, and a bounded page of products itself,
    // answer while every slow read waits.
    for path in [
        "/api/users/1",
        "/api/users",
        "/api/users?offset=1",
        "/health",
    ] {
        let answer = tokio::time::timeout(Duration::from_secs(10), app.get(path))
            .await
            .unwrap_or_else(|_| panic!("{path} waited behind a slow read"));
        answer.assert_status(200);
    }

    locker.batch_execute("ROLLBACK").await.expect("unlocking");
    for (path, read) in slow_paths.iter().zip(slow) {
        assert_eq!(read.await.expect("the slow read"), 200, "{path}");
    }
}
