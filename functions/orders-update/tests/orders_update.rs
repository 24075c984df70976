//! PATCH /api/orders/{id}. The lifecycle, the stock put back, and every
//! refused move go through the typed client (`shop-client`); statuses that
//! are not in the list, and bodies without one, stay raw requests, since
//! the typed client cannot send them.

use test_support::sample::{JOHNS_ORDER, LAPTOP, LAPTOP_STOCK};
use test_support::shop_client::types::{Order, OrderStatus, OrderStatusChange};
use test_support::shop_client::{ApiError, Client, Typed};
use test_support::{id, json, refused, TestApp};

async fn move_to(client: &Client, order: i64, status: OrderStatus) -> Result<Order, ApiError> {
    let change = OrderStatusChange { status };
    let answer = client
        .orders_update()
        .id(id(order))
        .body(change)
        .send()
        .await;
    answer.typed().await.map(|order| order.into_inner())
}

/// The 409 that moving the sample order to `status` must be.
async fn conflict(client: &Client, status: OrderStatus) -> String {
    match move_to(client, JOHNS_ORDER, status).await {
        Err(ApiError::Conflict(problem)) => problem.detail,
        other => panic!("expected 409, got {other:?}"),
    }
}

#[tokio::test]
async fn an_order_moves_along_its_lifecycle() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    let client = app.client();
    for status in [
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
    ] {
        let order = move_to(&client, JOHNS_ORDER, status).await.expect("200");
        assert_eq!(order.status, status);
        assert_eq!(order.items.len(), 1);
    }
    let detail = conflict(&client, OrderStatus::Cancelled).await;
    assert!(detail.contains("delivered"), "{detail}");
    assert_eq!(app.stock(LAPTOP).await, LAPTOP_STOCK);
}

#[tokio::test]
async fn cancelling_puts_the_stock_back_once() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    let client = app.client();
    move_to(&client, JOHNS_ORDER, OrderStatus::Confirmed)
        .await
        .expect("200");
    let order = move_to(&client, JOHNS_ORDER, OrderStatus::Cancelled).await;
    assert_eq!(order.expect("200").status, OrderStatus::Cancelled);
    assert_eq!(app.stock(LAPTOP).await, LAPTOP_STOCK + 2);
    conflict(&client, OrderStatus::Cancelled).await;
    assert_eq!(app.stock(LAPTOP).await, LAPTOP_STOCK + 2);
}

#[tokio::test]
async fn a_restock_that_would_overflow_is_409_and_changes_nothing() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    app.sql("UPDATE products SET stock_quantity = 2147483647 WHERE id = 1")
        .await;
    conflict(&app.client(), OrderStatus::Cancelled).await;
    let status = app.sql("SELECT status FROM orders WHERE id = 1").await;
    assert_eq!(status[0].get::<_, String>(0), "pending");
}

#[tokio::test]
async fn forbidden_moves_and_bad_bodies() {
    let app = TestApp::start(&[orders_update::FUNCTION]).await;
    let client = app.client();
    conflict(&client, OrderStatus::Shipped).await;
    conflict(&client, OrderStatus::Pending).await;
    // Raw: a status not in the list, and no status at all.
    let problem = app
        .patch("/api/orders/1", &json!({"status": "lost"}))
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "status");
    app.patch("/api/orders/1", &json!({})).await.problem(422);
    let change = OrderStatusChange {
        status: OrderStatus::Confirmed,
    };
    let missing = client.orders_update().id(id(99)).body(change).send().await;
    let missing = refused(missing).await;
    assert_eq!(
        missing.status().map(|s| s.as_u16()),
        Some(404),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_status_is_a_string_from_the_list_and_nothing_else() {
    // Raw: none of these bodies can be built with the typed client.
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
