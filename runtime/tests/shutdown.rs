//! Graceful shutdown: stop accepting, finish what is in flight, return.

use std::time::{Duration, Instant};

use contract::{Function, Limits, Method, Outcome, Reply, Request};
use test_support::TestApp;

async fn slow(_req: Request) -> Outcome {
    tokio::time::sleep(Duration::from_millis(700)).await;
    Ok(Reply::static_json(b"{\"finished\":true}"))
}

const SLOW: Function = Function {
    name: "test-slow",
    methods: &[Method::Get],
    path: "/test/slow",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(slow(req)),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_and_new_connections_are_refused() {
    let mut app = TestApp::start(&[SLOW]).await;
    let addr = app.addr;
    let url = app.url("/test/slow");
    let in_flight = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /test/slow HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let running = app.running.take().unwrap();
    let started = Instant::now();
    running.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let answer = in_flight.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("{\"finished\":true}"), "{answer}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting at {url}"
    );
}
