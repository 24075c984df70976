//! GET /api/orders/{id}, through the typed client (`shop-client`), whose
//! `Order` refuses unknown fields and needs all seven, so reading it proves
//! the answer's shape; an id the typed client cannot send stays raw.

use test_support::shop_client::types::OrderStatus;
use test_support::{id, refused, TestApp};

#[tokio::test]
async fn gets_an_order_with_its_items() {
    let app = TestApp::start(&[orders_get::FUNCTION]).await;
    let order = app.client().orders_get().id(id(1)).send().await;
    let order = order.expect("200 with exactly an Order's seven fields");
    assert_eq!(order.user_id.get(), 1);
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(*order.total_amount, 2599.98);
    let item = &order.items[0];
    assert_eq!(item.product_id.get(), 1);
    assert_eq!(item.quantity.get(), 2);
    assert_eq!(*item.price, 1299.99);
    assert_eq!(*item.subtotal, 2599.98);
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::start(&[orders_get::FUNCTION]).await;
    let missing = refused(app.client().orders_get().id(id(2)).send().await).await;
    assert_eq!(
        missing.status().map(|s| s.as_u16()),
        Some(404),
        "{missing:?}"
    );
    // Raw: 0 is not an id the typed client can send.
    app.get("/api/orders/0").await.problem(400);
}
