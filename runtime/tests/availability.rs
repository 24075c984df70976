//! What a hostile or unlucky client can hold, and that it cannot hold it for
//! long: silent sockets, the connection cap, statements abandoned by a time
//! limit, and writes waiting on a row lock while reads go on.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the point is sockets and connections held or dropped, below any typed
//! operation.

use std::time::{Duration, Instant};

use contract::Limits;
use runtime::registry::FUNCTIONS;
use serde_json::json;
use test_support::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The median time of five requests to `path`.
async fn median_latency(app: &TestApp, path: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        app.get(path).await.assert_status(200);
        times.push(started.elapsed());
    }
    times.sort();
    times[2]
}

/// Whether the server closed `stream` by `deadline` (EOF or reset).
async fn closed_by(mut stream: TcpStream, deadline: Instant) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout_at(deadline.into(), stream.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_one_byte_sockets_neither_starve_others_nor_stay_open() {
    // 4,000 client sockets and as many server-side ones, in one process.
    host::server::raise_fd_limit().expect("raising the open-file limit");
    let timeout = Duration::from_secs(2);
    let app = TestApp::start_with(FUNCTIONS, |s| s.header_read_timeout = timeout).await;

    let mut silent = Vec::new();
    let mut one_byte = Vec::new();
    for _ in 0..2_000 {
        let stream = TcpStream::connect(app.addr).await.expect("connecting");
        // Each is due to be closed a second past the timeout from its own start.
        silent.push((stream, Instant::now() + timeout + Duration::from_secs(1)));
        let mut stream = TcpStream::connect(app.addr).await.expect("connecting");
        // "G" (HTTP/1) and "P" (the start of the h2 preface) each stall a
        // protocol detector that waits for more.
        let first = if one_byte.len() % 2 == 0 { b"G" } else { b"P" };
        stream.write_all(first).await.expect("writing one byte");
        one_byte.push(stream);
    }

    for path in ["/health", "/api/users/1"] {
        let latency = median_latency(&app, path).await;
        assert!(
            latency < Duration::from_millis(100),
            "{path} took {latency:?} beside 4,000 idle sockets"
        );
    }

    let checks: Vec<_> = silent
        .into_iter()
        .map(|(stream, deadline)| tokio::spawn(closed_by(stream, deadline)))
        .collect();
    let mut still_open = 0;
    for check in checks {
        if !check.await.expect("the check ran") {
            still_open += 1;
        }
    }
    assert_eq!(
        still_open, 0,
        "silent sockets still open a second past HEADER_READ_TIMEOUT_MS"
    );
    drop(one_byte);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_client_is_served_once_slots_free() {
    let app = TestApp::start_with(FUNCTIONS, |s| {
        s.max_connections = 20;
        s.header_read_timeout = Duration::from_millis(500);
    })
    .await;
    let mut hogs = Vec::new();
    for _ in 0..20 {
        hogs.push(TcpStream::connect(app.addr).await.expect("connecting"));
    }
    // Every slot is held by a silent socket; the newcomer waits in the
    // backlog until the server closes them, then is answered.
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), app.get("/health"))
        .await
        .expect("a new client was answered once the silent ones were closed");
    answer.assert_status(200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    drop(hogs);
}

/// Locks product `id` in a transaction of its own until the returned
/// client is dropped or rolls back.
async fn lock_product(app: &TestApp, id: i64) -> tokio_postgres::Client {
    let client = test_support::connect(&app.database_url)
        .await
        .expect("a second connection");
    client
        .batch_execute(&format!(
            "BEGIN; SELECT * FROM products WHERE id = {id} FOR UPDATE"
        ))
        .await
        .expect("locking the product");
    client
}

fn order(product_id: i64) -> serde_json::Value {
    json!({"user_id": 1, "items": [{"product_id": product_id, "quantity": 1}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_statement_was_abandoned_is_never_lent_again() {
    let app = TestApp::start_with(FUNCTIONS, |s| {
        s.function_limits.insert(
            "orders-create".into(),
            Limits {
                timeout: Some(Duration::from_millis(500)),
                ..Limits::DEFAULT
            },
        );
    })
    .await;
    let abandoned_before = abandoned_total(&app).await;
    let locker = lock_product(&app, 1).await;

    // Each waits on the lock until its time limit: 504, its statement
    // still queued behind the lock on the server.
    let waiting: Vec<_> = (0..4)
        .map(|_| {
            let app = app.url("/api/orders");
            tokio::spawn(async move { post(&app, &order(1)).await })
        })
        .collect();
    for waiter in waiting {
        assert_eq!(waiter.await.expect("the request ran"), 504);
    }

    // With the lock still held, unrelated writes are served at once: none
    // of them gets a connection still stuck behind the lock.
    for _ in 0..4 {
        let started = Instant::now();
        assert_eq!(post(&app.url("/api/orders"), &order(2)).await, 201);
        assert!(started.elapsed() < Duration::from_millis(450));
    }
    let started = Instant::now();
    app.patch("/api/orders/1", &json!({"status": "confirmed"}))
        .await
        .assert_status(200);
    assert!(started.elapsed() < Duration::from_millis(450));

    // The server stopped the abandoned statements: nothing of ours waits
    // on the lock any more.
    let waiting_on_lock = "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.scalar(waiting_on_lock).await > 0 {
        assert!(Instant::now() < deadline, "abandoned statements still wait");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(abandoned_total(&app).await >= abandoned_before + 4);
    locker.batch_execute("ROLLBACK").await.expect("unlocking");
    // Nothing of the timed-out orders was written.
    assert_eq!(
        app.scalar("SELECT count(*) FROM order_items WHERE product_id = 1")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_waiting_on_a_row_lock_never_hold_up_reads() {
    let app = TestApp::start(FUNCTIONS).await;
    let locker = lock_product(&app, 1).await;
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let url = app.url("/api/products/1");
            tokio::spawn(async move {
                send(
                    http::Method::PATCH,
                    &url,
                    &json!({"stock_quantity": 40 + i}),
                )
                .await
            })
        })
        .collect();
    // Let the writes reach the server and block on the lock.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..30 {
        let started = Instant::now();
        app.get("/api/users/1").await.assert_status(200);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(500), "a read took {took:?}");
    }
    locker.batch_execute("ROLLBACK").await.expect("unlocking");
    for writer in writers {
        assert_eq!(writer.await.expect("the write ran"), 200);
    }
}

async fn abandoned_total(app: &TestApp) -> u64 {
    let exposition = app.get("/metrics").await.assert_status(200).text();
    exposition
        .lines()
        .find(|line| line.starts_with("db_connections_abandoned_total"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

async fn post(url: &str, body: &serde_json::Value) -> u16 {
    send(http::Method::POST, url, body).await
}

/// A request on a connection of its own, so that one waiting request never
/// holds up another of the test's.
async fn send(method: http::Method, url: &str, body: &serde_json::Value) -> u16 {
    let uri: http::Uri = url.parse().expect("a test URL");
    let authority = uri.authority().expect("an address").to_string();
    let body = serde_json::to_vec(body).expect("JSON");
    let mut stream = TcpStream::connect(&authority).await.expect("connecting");
    let head = format!(
        "{method} {} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        uri.path(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("writing");
    stream.write_all(&body).await.expect("writing");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("reading");
    let answer = String::from_utf8_lossy(&answer);
    answer
        .get(9..12)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}
