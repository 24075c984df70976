use test_support::TestApp;

#[tokio::test]
async fn lists_orders_with_items_and_filters() {
    let app = TestApp::start(&[orders_list::FUNCTION]).await;
    app.sql("INSERT INTO orders (user_id, status, total_amount) VALUES (2, 'shipped', 0), (2, 'pending', 0), (3, 'shipped', 0)")
        .await;
    let all = app.get("/api/orders").await.assert_status(200).json();
    assert_eq!(all.as_array().unwrap().len(), 4);
    assert_eq!(all[0]["items"][0]["subtotal"], 2599.98);
    let ids = |body: serde_json::Value| -> Vec<i64> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(app.get("/api/orders?user_id=2").await.json()), [2, 3]);
    assert_eq!(
        ids(app.get("/api/orders?status=shipped").await.json()),
        [2, 4]
    );
    assert_eq!(
        ids(app.get("/api/orders?status=shipped&user_id=3").await.json()),
        [4]
    );
    let page = app.get("/api/orders?status=shipped&limit=1").await;
    assert_eq!(
        page.header("link"),
        Some("</api/orders?status=shipped&limit=1&offset=1>; rel=\"next\"")
    );
}

#[tokio::test]
async fn malformed_filters_are_400() {
    let app = TestApp::start(&[orders_list::FUNCTION]).await;
    app.get("/api/orders?status=lost").await.problem(400);
    app.get("/api/orders?user_id=abc").await.problem(400);
    app.get("/api/orders?user_id=0").await.problem(400);
    app.get("/api/orders?user_id=-4").await.problem(400);
    app.get("/api/orders?user_id=99999999999999999999")
        .await
        .problem(400);
}
