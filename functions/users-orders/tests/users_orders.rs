use test_support::TestApp;

#[tokio::test]
async fn lists_a_users_orders_with_items() {
    let app = TestApp::start(&[users_orders::FUNCTION]).await;
    let orders = app
        .get("/api/users/1/orders")
        .await
        .assert_status(200)
        .json();
    assert_eq!(orders.as_array().unwrap().len(), 1);
    assert_eq!(orders[0]["user_id"], 1);
    assert_eq!(orders[0]["total_amount"], 2599.98);
    assert_eq!(orders[0]["items"][0]["subtotal"], 2599.98);
    assert_eq!(
        app.get("/api/users/2/orders").await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn pages_and_404s() {
    let app = TestApp::start(&[users_orders::FUNCTION]).await;
    app.sql("INSERT INTO orders (user_id, total_amount) SELECT 2, 0 FROM generate_series(1, 3)")
        .await;
    let page = app.get("/api/users/2/orders?limit=2").await;
    assert_eq!(page.json().as_array().unwrap().len(), 2);
    assert_eq!(
        page.header("link"),
        Some("</api/users/2/orders?limit=2&after=3>; rel=\"next\"")
    );
    assert_eq!(page.json()[0]["items"], serde_json::json!([]));
    app.get("/api/users/999/orders").await.problem(404);
    app.get("/api/users/x/orders").await.problem(400);
}
