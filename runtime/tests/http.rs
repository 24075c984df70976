//! What the runtime answers before and around any function: routing
//! errors, body limits, request ids, common headers.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the point is what the runtime answers at the HTTP level (unknown routes,
//! body limits, request ids, common headers), outside any typed operation.

use std::time::Duration;

use test_support::{json, TestApp};

async fn app() -> TestApp {
    TestApp::start(&[
        users_get::FUNCTION,
        users_update::FUNCTION,
        users_create::FUNCTION,
    ])
    .await
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = app().await;
    let problem = app.get("/api/nothing").await.problem(404);
    assert!(problem["detail"].as_str().unwrap().contains("/api/nothing"));
    app.get("/api/users/1/extra").await.problem(404);
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = app().await;
    let response = app.delete("/api/users/1").await;
    response.problem(405);
    assert_eq!(response.header("allow"), Some("GET, HEAD, PUT, PATCH"));
    let response = app
        .request(http::Method::OPTIONS, "/api/users", &[], None)
        .await;
    response.problem(405);
    assert_eq!(response.header("allow"), Some("POST"));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_whether_declared_or_streamed() {
    let app = TestApp::start_with(&[users_create::FUNCTION], |s| s.body_limit = 1024).await;
    let big = vec![b' '; 2048];
    app.request(
        http::Method::POST,
        "/api/users",
        &[("content-type", "application/json")],
        Some(big),
    )
    .await
    .problem(413);
    // Chunked, with no Content-Length: refused once the limit is reached.
    let mut chunked = b"POST /api/users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b' '; 512]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = app.raw(&chunked, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // The rest of the body is never read, so the connection closes after
    // the answer, and the answer says so: a client keeping it alive would
    // otherwise send its next request on a socket about to close.
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answer}"
    );
    // An absurd Content-Length is refused before anything is read.
    let answer = app
        .raw(
            b"POST /api/users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 99999999999999\r\n\r\n{}",
            Duration::from_secs(2),
        )
        .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answer}"
    );
    // The service is fine afterwards.
    app.post(
        "/api/users",
        &json!({"username": "after", "email": "after@example.com"}),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_nosniff() {
    let app = app().await;
    for response in [app.get("/api/users/1").await, app.get("/nope").await] {
        assert!(response.header("x-request-id").is_some());
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    let ids: Vec<_> = [app.get("/api/users/1").await, app.get("/api/users/1").await]
        .iter()
        .map(|r| r.header("x-request-id").unwrap().to_owned())
        .collect();
    assert_ne!(ids[0], ids[1]);
    // A client's id is kept only when it is sane.
    let long = "x".repeat(300);
    let response = app
        .request(
            http::Method::GET,
            "/api/users/1",
            &[("x-request-id", &long)],
            None,
        )
        .await;
    assert_ne!(response.header("x-request-id"), Some(long.as_str()));
}

#[tokio::test]
async fn a_slow_loris_is_cut_off() {
    let app = TestApp::start_with(&[users_get::FUNCTION], |s| {
        s.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /api/users/1 HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the connection was still open after 3 s");
    // Meanwhile and afterwards, normal requests are served.
    app.get("/api/users/1").await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_do_not_stop_service() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::start_with(&[users_get::FUNCTION], |s| {
        s.header_read_timeout = Duration::from_secs(5);
    })
    .await;
    // 300 connections that never send a byte, 50 that trickle a request
    // head one byte at a time.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(app.addr).await.unwrap());
    }
    let trickling: Vec<_> = (0..50)
        .map(|_| {
            let addr = app.addr;
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                for byte in b"GET /api/users/1 HTTP/1.1\r\nHost: slow\r\nX-Pad: "
                    .iter()
                    .cycle()
                    .take(60)
                {
                    if stream.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        app.get("/api/users/1").await.assert_status(200);
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    for task in trickling {
        task.abort();
    }
    drop(idle);
}

#[tokio::test]
async fn head_is_served_wherever_get_is_and_allow_says_so() {
    let app = app().await;
    for path in ["/api/users/1", "/metrics"] {
        let get = app.get(path).await;
        get.assert_status(200);
        let head = app.request(http::Method::HEAD, path, &[], None).await;
        head.assert_status(200);
        assert!(head.body.is_empty(), "{path}: HEAD carried a body");
        assert_eq!(head.header("content-type"), get.header("content-type"));
    }
    let head = app
        .request(http::Method::HEAD, "/api/users/999", &[], None)
        .await;
    head.assert_status(404);
    let response = app
        .request(http::Method::DELETE, "/metrics", &[], None)
        .await;
    response.problem(405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
}
