use test_support::{json, TestApp};

#[tokio::test]
async fn patch_changes_what_is_given_and_null_clears_description() {
    let app = TestApp::start(&[products_update::FUNCTION]).await;
    let product = app
        .patch(
            "/api/products/2",
            &json!({"price": "24.50", "description": null}),
        )
        .await
        .assert_status(200)
        .json();
    assert_eq!(product["price"], 24.5);
    assert_eq!(product["description"], serde_json::Value::Null);
    assert_eq!(product["name"], "Mouse");
    assert_eq!(product["stock_quantity"], 100);
    assert!(product["updated_at"].as_str().unwrap() > product["created_at"].as_str().unwrap());
}

#[tokio::test]
async fn put_replaces_fields() {
    let app = TestApp::start(&[products_update::FUNCTION]).await;
    let product = app
        .put("/api/products/3", &json!({"name": "Keyboard Pro", "description": "RGB", "price": 99, "stock_quantity": 5}))
        .await
        .assert_status(200)
        .json();
    assert_eq!(product["name"], "Keyboard Pro");
    assert_eq!(product["stock_quantity"], 5);
}

#[tokio::test]
async fn invalid_changes_and_unknown_products() {
    let app = TestApp::start(&[products_update::FUNCTION]).await;
    for body in [
        json!({}),
        json!({"name": null}),
        json!({"price": -5}),
        json!({"stock_quantity": -1}),
        json!({"name": "ok", "stock_quantity": null}),
    ] {
        app.patch("/api/products/1", &body).await.problem(422);
    }
    app.patch("/api/products/999", &json!({"price": 1}))
        .await
        .problem(404);
}
