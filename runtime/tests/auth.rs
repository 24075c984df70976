//! API keys: writes need `Authorization: Bearer <key>` when keys are set;
//! reads too with `API_KEYS_READ`; probes stay open.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the `Authorization` header itself (missing, malformed, wrong scheme) is
//! what is tested.

use host::config::Secret;
use test_support::{json, TestApp};

async fn app(protect_reads: bool) -> TestApp {
    TestApp::start_with(
        &[
            users_get::FUNCTION,
            users_create::FUNCTION,
            health::FUNCTION,
        ],
        |s| {
            s.api_keys = vec![
                Secret::new("s3cret-key".into()),
                Secret::new("second-key".into()),
            ];
            s.api_keys_read = protect_reads;
        },
    )
    .await
}

fn body() -> Vec<u8> {
    serde_json::to_vec(&json!({"username": "keyed", "email": "keyed@example.com"})).unwrap()
}

#[tokio::test]
async fn writes_need_a_valid_bearer_key() {
    let app = app(false).await;
    for headers in [
        vec![("content-type", "application/json")],
        vec![
            ("content-type", "application/json"),
            ("authorization", "Bearer wrong"),
        ],
        vec![
            ("content-type", "application/json"),
            ("authorization", "s3cret-key"),
        ],
    ] {
        let response = app
            .request(http::Method::POST, "/api/users", &headers, Some(body()))
            .await;
        response.problem(401);
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"shop-api\"")
        );
        assert!(!String::from_utf8_lossy(&response.body).contains("s3cret"));
    }
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);
    let headers = [
        ("content-type", "application/json"),
        ("authorization", "Bearer second-key"),
    ];
    app.request(http::Method::POST, "/api/users", &headers, Some(body()))
        .await
        .assert_status(201);
    // Reads stay open.
    app.get("/api/users/1").await.assert_status(200);
}

#[tokio::test]
async fn api_keys_read_closes_reads_but_not_probes() {
    let app = app(true).await;
    app.get("/api/users/1").await.problem(401);
    app.get("/metrics").await.problem(401);
    app.get("/health").await.assert_status(200);
    let response = app
        .request(
            http::Method::GET,
            "/api/users/1",
            &[("authorization", "Bearer s3cret-key")],
            None,
        )
        .await;
    response.assert_status(200);
    let response = app
        .request(
            http::Method::GET,
            "/metrics",
            &[("authorization", "Bearer s3cret-key")],
            None,
        )
        .await;
    response.assert_status(200);
}

/// `METRICS_ADDR` moves `/metrics` to a listener of its own, with the same
/// rule as on the main port: a key when reads need one, GET or HEAD only.
#[tokio::test]
async fn the_metrics_listener_asks_for_the_same_key() {
    let app = TestApp::start_with(&[users_get::FUNCTION], |s| {
        s.api_keys = vec![Secret::new("s3cret-key".into())];
        s.api_keys_read = true;
        s.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics_addr = app.running.as_ref().unwrap().metrics_addr.unwrap();
    let ask = |request: &'static str| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let anonymous = ask("GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n").await;
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    let keyed = ask("GET /metrics HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer s3cret-key\r\nConnection: close\r\n\r\n").await;
    assert!(keyed.starts_with("HTTP/1.1 200"), "{keyed}");
    let delete = ask("DELETE /metrics HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer s3cret-key\r\nConnection: close\r\n\r\n").await;
    assert!(delete.starts_with("HTTP/1.1 405"), "{delete}");
    assert!(
        delete.to_ascii_lowercase().contains("allow: get, head"),
        "{delete}"
    );
}
