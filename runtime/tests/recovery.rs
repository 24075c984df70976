//! PostgreSQL restarts under traffic: requests in the gap fail fast with
//! 503, never hang or 500, and the service recovers by itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::embedded::Shutdown;
use test_support::{PrivateCluster, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_recovers_by_itself_after_postgres_restarts() {
    let mut cluster = PrivateCluster::start();
    let app = Arc::new(
        TestApp::start_on(
            cluster.url(),
            &[users_get::FUNCTION, db_check::FUNCTION],
            |s| {
                s.pool_timeout = Duration::from_millis(500);
            },
        )
        .await,
    );
    app.get("/api/users/1").await.assert_status(200);

    let running = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let traffic = {
        let (app, running, seen) = (app.clone(), running.clone(), seen.clone());
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let started = Instant::now();
                let status = app.get("/api/users/1").await.status.as_u16();
                seen.lock().unwrap().push((status, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    for mode in [Shutdown::Fast, Shutdown::Immediate] {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // On this thread: PostgreSQL lives as long as the thread that starts it.
        tokio::task::block_in_place(|| cluster.postgres.restart(mode))
            .expect("restarting PostgreSQL");
        let restarted = Instant::now();
        loop {
            if app.get("/api/users/1").await.status.as_u16() == 200 {
                break;
            }
            assert!(
                restarted.elapsed() < Duration::from_secs(10),
                "no recovery after a {mode:?} restart"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.get("/db-check").await.assert_status(200);
    }
    running.store(false, Ordering::Relaxed);
    traffic.await.unwrap();

    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|(status, _)| *status == 200));
    for (status, took) in seen.iter() {
        assert!(
            *status == 200 || *status == 503,
            "a request in the gap got {status}"
        );
        assert!(
            *took < Duration::from_secs(3),
            "a request in the gap hung for {took:?}"
        );
    }
}
