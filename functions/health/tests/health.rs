//! GET /health through the typed client (`shop-client`).

use test_support::TestApp;

#[tokio::test]
async fn answers_healthy_without_touching_the_database() {
    let app = TestApp::start(&[health::FUNCTION]).await;
    let response = app.client().health().send().await.expect("200");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        let value = response.headers().get(name);
        value
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header("server").is_none());
    assert!(header("x-request-id").is_some_and(|id| !id.is_empty()));
    // `Health` refuses unknown fields, so this is the whole body.
    assert_eq!(response.into_inner().status.to_string(), "healthy");
}

#[tokio::test]
async fn echoes_the_callers_request_id() {
    let app = TestApp::start(&[health::FUNCTION]).await;
    // Raw: X-Request-Id is no parameter of the operation, so the generated
    // method cannot send one.
    let response = app
        .request(
            http::Method::GET,
            "/health",
            &[("x-request-id", "trace-123")],
            None,
        )
        .await;
    assert_eq!(response.header("x-request-id"), Some("trace-123"));
}
