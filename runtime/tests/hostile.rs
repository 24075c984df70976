//! Broken requests straight at the socket: each gets a 4xx (a problem
//! document when it reaches a function) or a closed connection, and the
//! service keeps serving.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! broken requests straight at the socket, which no typed client can send.

use std::time::Duration;

use runtime::registry::FUNCTIONS;
use test_support::TestApp;

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

#[tokio::test]
async fn broken_requests_get_4xx_or_a_closed_connection() {
    let app = TestApp::start(FUNCTIONS).await;
    let many_headers: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let huge_header = format!("X-Big: {}\r\n", "a".repeat(512 * 1024));
    let nested = format!(
        "{{\"username\": {}1{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("invalid UTF-8 in the path", b"GET /api/users/\xff\xfe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec()),
        ("invalid UTF-8 in a body", post("/api/users", b"{\"username\": \"\xff\xfe\", \"email\": \"a@b.co\"}")),
        ("a raw NUL in a body", post("/api/users", b"{\"username\": \"a\x00b\", \"email\": \"a@b.co\"}")),
        ("an escaped NUL in a body", post("/api/users", b"{\"username\": \"a\\u0000b\", \"email\": \"a@b.co\"}")),
        ("NUL in the path", b"GET /api/users/1\x00 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec()),
        ("too many headers", format!("GET /health HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").into_bytes()),
        ("a huge header", format!("GET /health HTTP/1.1\r\nHost: t\r\n{huge_header}\r\n").into_bytes()),
        ("an absurd Content-Length", b"POST /api/users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 18446744073709551616\r\n\r\n{}".to_vec()),
        ("two Content-Lengths", b"POST /api/users HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".to_vec()),
        ("a negative Content-Length", b"POST /api/users HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n{}".to_vec()),
        ("a broken chunk size", b"POST /api/users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".to_vec()),
        ("deeply nested JSON", post("/api/users", nested.as_bytes())),
        ("BIGINT overflow", post("/api/orders", b"{\"user_id\": 9223372036854775808, \"items\": [{\"product_id\": 1, \"quantity\": 1}]}")),
        ("INTEGER overflow", post("/api/products", b"{\"name\": \"x\", \"price\": 1, \"stock_quantity\": 2147483648}")),
        ("a price beyond NUMERIC", post("/api/products", b"{\"name\": \"x\", \"price\": 1e300, \"stock_quantity\": 1}")),
        ("an id beyond BIGINT", b"GET /api/orders/9223372036854775808 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec()),
        ("a garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec()),
        ("an unknown method", b"BREW /api/users HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec()),
    ];
    for (what, request) in cases {
        let answer = app.raw(&request, Duration::from_secs(5)).await;
        let status_ok = answer.is_empty() || answer.starts_with("HTTP/1.1 4");
        assert!(
            status_ok,
            "{what}: {}",
            answer.lines().next().unwrap_or_default()
        );
        if answer.contains("\r\n\r\n{") {
            assert!(
                answer
                    .to_ascii_lowercase()
                    .contains("content-type: application/problem+json"),
                "{what}: {answer}"
            );
        }
        app.get("/api/users/1").await.assert_status(200);
    }
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 3);
}
