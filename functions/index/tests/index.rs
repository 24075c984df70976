//! GET / through the typed client (`shop-client`).

use test_support::shop_client::types::RouteInfoMethod;
use test_support::TestApp;

#[tokio::test]
async fn lists_the_service_and_its_route_table_with_limits() {
    let app = TestApp::start(&[index::FUNCTION, health::FUNCTION]).await;
    let response = app.client().index().send().await.expect("200");
    assert_eq!(response.status(), 200);
    // `version` is a string by the type `ServiceInfo` decodes it into.
    let body = response.into_inner();
    assert_eq!(body.service, "shop-api");
    let routes = &body.routes;
    let health = routes.iter().find(|r| r.function == "health").unwrap();
    assert_eq!(health.method, RouteInfoMethod::Get);
    assert_eq!(health.path, "/health");
    assert!(health.timeout_ms > 0);
    assert!(health.concurrency > 0);
    assert!(routes.iter().any(|r| r.path == "/"));
    assert!(routes.iter().any(|r| r.path == "/metrics"));
    // GET and HEAD of `/`, `/health` and `/metrics`.
    assert!(routes
        .iter()
        .any(|r| r.function == "health" && r.method == RouteInfoMethod::Head));
    assert_eq!(routes.len(), 6);
}
