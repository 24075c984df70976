use test_support::TestApp;

#[tokio::test]
async fn lists_the_service_and_its_route_table_with_limits() {
    let app = TestApp::start(&[index::FUNCTION, health::FUNCTION]).await;
    let body = app.get("/").await.assert_status(200).json();
    assert_eq!(body["service"], "shop-api");
    assert!(body["version"].is_string());
    let routes = body["routes"].as_array().unwrap();
    let health = routes.iter().find(|r| r["function"] == "health").unwrap();
    assert_eq!(health["method"], "GET");
    assert_eq!(health["path"], "/health");
    assert!(health["timeout_ms"].as_u64().unwrap() > 0);
    assert!(health["concurrency"].as_u64().unwrap() > 0);
    assert!(routes.iter().any(|r| r["path"] == "/"));
    assert!(routes.iter().any(|r| r["path"] == "/metrics"));
    // GET and HEAD of `/`, `/health` and `/metrics`.
    assert!(routes
        .iter()
        .any(|r| r["function"] == "health" && r["method"] == "HEAD"));
    assert_eq!(routes.len(), 6);
}
