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
        Some("</api/orders?status=shipped&limit=1&after=2>; rel=\"next\"")
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

#[tokio::test]
async fn a_bad_or_repeated_parameter_is_400_naming_it() {
    let app = TestApp::start(&[orders_list::FUNCTION]).await;
    for (query, name) in [
        ("user_id=abc", "user_id"),
        ("status=lost", "status"),
        ("limit=2&limit=3", "limit"),
        ("offset=1&offset=1", "offset"),
        ("user_id=1&user_id=1", "user_id"),
        ("status=pending&status=shipped", "status"),
    ] {
        let problem = app.get(&format!("/api/orders?{query}")).await.problem(400);
        assert_eq!(problem["errors"][0]["field"], name, "{query}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{query}: {problem}"
        );
    }
}
