use test_support::sample::{LAPTOP, LAPTOP_STOCK};
use test_support::{json, TestApp};

#[tokio::test]
async fn an_order_moves_along_its_lifecycle() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    for status in ["confirmed", "shipped", "delivered"] {
        let order = app
            .patch("/api/orders/1", &json!({"status": status}))
            .await
            .assert_status(200)
            .json();
        assert_eq!(order["status"], status);
        assert_eq!(order["items"].as_array().unwrap().len(), 1);
    }
    let problem = app
        .patch("/api/orders/1", &json!({"status": "cancelled"}))
        .await
        .problem(409);
    assert!(problem["detail"].as_str().unwrap().contains("delivered"));
    assert_eq!(app.stock(LAPTOP).await, LAPTOP_STOCK);
}

#[tokio::test]
async fn cancelling_puts_the_stock_back_once() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    app.patch("/api/orders/1", &json!({"status": "confirmed"}))
        .await
        .assert_status(200);
    let order = app
        .patch("/api/orders/1", &json!({"status": "cancelled"}))
        .await
        .assert_status(200)
        .json();
    assert_eq!(order["status"], "cancelled");
    assert_eq!(app.stock(LAPTOP).await, LAPTOP_STOCK + 2);
    app.patch("/api/orders/1", &json!({"status": "cancelled"}))
        .await
        .problem(409);
    assert_eq!(app.stock(LAPTOP).await, LAPTOP_STOCK + 2);
}

#[tokio::test]
async fn a_restock_that_would_overflow_is_409_and_changes_nothing() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    app.sql("UPDATE products SET stock_quantity = 2147483647 WHERE id = 1")
        .await;
    app.patch("/api/orders/1", &json!({"status": "cancelled"}))
        .await
        .problem(409);
    let status = app.sql("SELECT status FROM orders WHERE id = 1").await;
    assert_eq!(status[0].get::<_, String>(0), "pending");
}

#[tokio::test]
async fn forbidden_moves_and_bad_bodies() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    app.patch("/api/orders/1", &json!({"status": "shipped"}))
        .await
        .problem(409);
    app.patch("/api/orders/1", &json!({"status": "pending"}))
        .await
        .problem(409);
    let problem = app
        .patch("/api/orders/1", &json!({"status": "lost"}))
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "status");
    app.patch("/api/orders/1", &json!({})).await.problem(422);
    app.patch("/api/orders/99", &json!({"status": "confirmed"}))
        .await
        .problem(404);
}

#[tokio::test]
async fn a_status_is_a_string_from_the_list_and_nothing_else() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    for status in [
        json!(5),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
        json!({"cancelled": null}),
        json!("CANCELLED"),
    ] {
        let problem = app
            .patch("/api/orders/1", &json!({ "status": status }))
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "status", "{status}");
    }
    let status = app.sql("SELECT status FROM orders WHERE id = 1").await;
    assert_eq!(status[0].get::<_, String>(0), "pending");
}
