use test_support::TestApp;

#[tokio::test]
async fn answers_healthy_without_touching_the_database() {
    let app = TestApp::start(&[health::FUNCTION]).await;
    let response = app.get("/health").await;
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json(), serde_json::json!({"status": "healthy"}));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert!(response.header("server").is_none());
    assert!(response
        .header("x-request-id")
        .is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn echoes_the_callers_request_id() {
    let app = TestApp::start(&[health::FUNCTION]).await;
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
