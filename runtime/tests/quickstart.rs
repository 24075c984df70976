//! The README's quickstart, request for request, against the full registry
//! on a fresh database: what the original's clients do must keep working.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the README's curl bodies, byte for byte, as the original's clients send
//! them.

use runtime::registry::FUNCTIONS;
use test_support::TestApp;

#[tokio::test]
async fn the_readme_curl_examples_work_unchanged() {
    let app = TestApp::start(FUNCTIONS).await;
    let post = |path: &'static str, body: &'static str| {
        app.request(
            http::Method::POST,
            path,
            &[("content-type", "application/json")],
            Some(body.as_bytes().to_vec()),
        )
    };

    assert_eq!(
        app.get("/").await.assert_status(200).json()["service"],
        "shop-api"
    );
    assert_eq!(app.get("/health").await.json()["status"], "healthy");
    assert_eq!(app.get("/db-check").await.json()["database"], "connected");
    assert_eq!(
        app.get("/api/users").await.json().as_array().unwrap().len(),
        3
    );

    let user = post(
        "/api/users",
        r#"{"username": "alice", "email": "alice@example.com"}"#,
    )
    .await;
    user.assert_status(201);
    assert_eq!(user.json()["id"], 4);
    assert_eq!(app.get("/api/users/4").await.json()["username"], "alice");

    let product = post(
        "/api/products",
        r#"{"name": "Monitor", "description": "27 inch 4K", "price": 399.99, "stock_quantity": 25}"#,
    )
    .await;
    product.assert_status(201);
    assert_eq!(product.json()["id"], 4);
    assert_eq!(
        app.get("/api/products")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(app.get("/api/products/4").await.json()["price"], 399.99);

    let order = post(
        "/api/orders",
        r#"{"user_id": 4, "items": [{"product_id": 4, "quantity": 2}, {"product_id": 2, "quantity": 1}]}"#,
    )
    .await;
    order.assert_status(201);
    let order = order.json();
    assert_eq!(order["total_amount"], 829.97);
    assert_eq!(
        app.get("/api/orders")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.get(&format!("/api/orders/{}", order["id"]))
            .await
            .json(),
        order
    );
    assert_eq!(
        app.get("/api/users/4/orders").await.json()[0]["id"],
        order["id"]
    );

    let metrics = app.get("/metrics").await;
    metrics.assert_status(200);
    assert!(String::from_utf8_lossy(&metrics.body).contains("http_server_request_duration_seconds"));
}
