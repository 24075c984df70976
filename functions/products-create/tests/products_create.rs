use test_support::{json, TestApp};

#[tokio::test]
async fn creates_a_product_from_a_number_or_a_decimal_string() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    let response = app
        .post("/api/products", &json!({"name": "Monitor", "description": "27 inch", "price": 249.5, "stock_quantity": 7}))
        .await;
    response.assert_status(201);
    let product = response.json();
    assert_eq!(product["price"], 249.5);
    assert_eq!(
        response.header("location"),
        Some(format!("/api/products/{}", product["id"]).as_str())
    );
    let product = app
        .post(
            "/api/products",
            &json!({"name": "Cable", "price": "0.99", "stock_quantity": 0}),
        )
        .await
        .assert_status(201)
        .json();
    assert_eq!(product["price"], 0.99);
    assert_eq!(product["description"], serde_json::Value::Null);
    let stored = app
        .sql(&format!(
            "SELECT price::text FROM products WHERE id = {}",
            product["id"]
        ))
        .await;
    assert_eq!(stored[0].get::<_, String>(0), "0.99");
}

#[tokio::test]
async fn broken_rules_are_422() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    let cases = [
        (
            json!({"name": "x", "price": -1, "stock_quantity": 1}),
            "price",
        ),
        (
            json!({"name": "x", "price": 1.999, "stock_quantity": 1}),
            "price",
        ),
        (
            json!({"name": "x", "price": 100000000, "stock_quantity": 1}),
            "price",
        ),
        (
            json!({"name": "x", "price": "ten", "stock_quantity": 1}),
            "price",
        ),
        (
            json!({"name": "x", "price": 1, "stock_quantity": -1}),
            "stock_quantity",
        ),
        (
            json!({"name": "x", "price": 1, "stock_quantity": 3_000_000_000_i64}),
            "stock_quantity",
        ),
        (
            json!({"name": "x", "price": 1, "stock_quantity": 1.5}),
            "stock_quantity",
        ),
        (
            json!({"name": "x", "price": "1_0", "stock_quantity": 1}),
            "price",
        ),
        (json!({"name": "", "price": 1, "stock_quantity": 1}), "name"),
        (json!({"price": 1, "stock_quantity": 1}), "name"),
        (json!({"name": "x", "stock_quantity": 1}), "price"),
        (
            json!({"name": "x", "price": 1, "stock_quantity": 1, "sku": "A"}),
            "sku",
        ),
        (
            json!({"name": "x", "description": "d".repeat(2001), "price": 1, "stock_quantity": 1}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let problem = app.post("/api/products", &body).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 3);
}

#[tokio::test]
async fn a_whole_float_is_an_integer() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    let product = app
        .post(
            "/api/products",
            &json!({"name": "x", "price": 1, "stock_quantity": 7.0}),
        )
        .await
        .assert_status(201)
        .json();
    assert_eq!(product["stock_quantity"], 7);
}

/// Each of these used to be rounded by a binary float before any rule saw
/// it, and stored as a different amount.
#[tokio::test]
async fn amounts_a_float_would_round_are_422_not_rounded() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    for price in ["19.999999999999999", "1e-400", "99999999.99000001", "0.001"] {
        let body = format!(r#"{{"name": "x", "price": {price}, "stock_quantity": 1}}"#);
        let problem = app
            .request(
                http::Method::POST,
                "/api/products",
                &[("content-type", "application/json")],
                Some(body.into_bytes()),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "price", "{price}: {problem}");
    }
    let body = br#"{"name": "x", "price": 1, "stock_quantity": 2.9999999999999999}"#;
    let problem = app
        .request(
            http::Method::POST,
            "/api/products",
            &[("content-type", "application/json")],
            Some(body.to_vec()),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "stock_quantity");
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 3);
    // Exponents and trailing zeros that are exact stay fine.
    let product = app
        .request(
            http::Method::POST,
            "/api/products",
            &[("content-type", "application/json")],
            Some(br#"{"name": "x", "price": 1.50e1, "stock_quantity": 2.000}"#.to_vec()),
        )
        .await
        .assert_status(201)
        .json();
    assert_eq!(
        (
            product["price"].as_f64(),
            product["stock_quantity"].as_i64()
        ),
        (Some(15.0), Some(2))
    );
}
