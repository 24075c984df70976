//! PostgreSQL restarts under traffic: requests in the gap fail fast with
//! 503, never hang or 500, and the service recovers by itself.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the point is the status in an outage (503, never a hang) and the time it
//! takes, not an operation's typed result.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use host::embedded::Shutdown;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_restarts_whole_or_not_at_all() {
    let mut cluster = PrivateCluster::start();
    let app = Arc::new(
        TestApp::start_on(cluster.url(), &[orders_create::FUNCTION], |s| {
            s.pool_timeout = Duration::from_millis(500);
        })
        .await,
    );
    app.sql("UPDATE products SET stock_quantity = 100000 WHERE id IN (2, 3)")
        .await;
    let initial = [(1_i64, 10_i64), (2, 100_000), (3, 100_000)];

    let running = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..4_i64)
        .map(|client| {
            let (app, running) = (app.clone(), running.clone());
            tokio::spawn(async move {
                let mut created = Vec::new();
                let mut statuses = Vec::new();
                let mut n = 0_i64;
                while running.load(Ordering::Relaxed) {
                    n += 1;
                    let body = test_support::json!({"user_id": 1 + client % 3, "items": [
                        {"product_id": 2 + n % 2, "quantity": 1 + n % 3},
                        {"product_id": 3 - n % 2, "quantity": 1},
                    ]});
                    let started = Instant::now();
                    let response = app.post("/api/orders", &body).await;
                    assert!(started.elapsed() < Duration::from_secs(5), "an order hung");
                    statuses.push(response.status.as_u16());
                    if response.status == 201 {
                        created.push(response.json());
                    }
                }
                (created, statuses)
            })
        })
        .collect();

    for mode in [Shutdown::Immediate, Shutdown::Fast] {
        tokio::time::sleep(Duration::from_millis(400)).await;
        tokio::task::block_in_place(|| cluster.postgres.restart(mode))
            .expect("restarting PostgreSQL");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, Ordering::Relaxed);

    let mut created = Vec::new();
    let mut statuses = Vec::new();
    for client in clients {
        let (mut c, mut s) = client.await.unwrap();
        created.append(&mut c);
        statuses.append(&mut s);
    }
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        created.len() > 10,
        "only {} orders went through",
        created.len()
    );
    assert!(statuses.contains(&503), "the restarts were not felt at all");

    // The database, read afresh after the restarts.
    let (db, connection) = tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    for order in &created {
        let items: i64 = db
            .query_one(
                "SELECT count(*) FROM order_items WHERE order_id = $1",
                &[&order["id"].as_i64()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(items, 2, "order {} lost items", order["id"]);
    }
    let half_written: i64 = db
        .query_one("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(half_written, 0);
    for (product, stock) in initial {
        let row = db
            .query_one(
                "SELECT p.stock_quantity::bigint + COALESCE((SELECT sum(i.quantity) FROM order_items i
                     JOIN orders o ON o.id = i.order_id WHERE i.product_id = p.id AND o.status <> 'cancelled'), 0)::bigint
                 FROM products p WHERE p.id = $1",
                &[&product],
            )
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, i64>(0),
            stock,
            "stock of product {product} does not add up"
        );
    }
}
