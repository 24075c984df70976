use test_support::TestApp;

#[tokio::test]
async fn gets_an_order_with_its_items() {
    let app = TestApp::start(&[orders_get::FUNCTION]).await;
    let order = app.get("/api/orders/1").await.assert_status(200).json();
    assert_eq!(order["user_id"], 1);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["total_amount"], 2599.98);
    assert_eq!(order["items"][0]["product_id"], 1);
    assert_eq!(order["items"][0]["quantity"], 2);
    assert_eq!(order["items"][0]["price"], 1299.99);
    assert_eq!(order["items"][0]["subtotal"], 2599.98);
    let keys = order.as_object().unwrap().len();
    assert_eq!(keys, 7);
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::start(&[orders_get::FUNCTION]).await;
    app.get("/api/orders/2").await.problem(404);
    app.get("/api/orders/0").await.problem(400);
}
