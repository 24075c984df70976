//! GET /api/users/{id}/orders. The list and its pages go through the typed
//! client (`shop-client`); an id the typed client cannot put in the path
//! stays a raw request.

use test_support::shop_client::ApiError;
use test_support::{id, refused, TestApp};

#[tokio::test]
async fn lists_a_users_orders_with_items() {
    let app = TestApp::start(&[users_orders::FUNCTION]).await;
    let client = app.client();
    let orders = client.users_orders().id(id(1)).send().await.expect("200");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].user_id.get(), 1);
    assert_eq!(*orders[0].total_amount, 2599.98);
    assert_eq!(*orders[0].items[0].subtotal, 2599.98);
    let none = client.users_orders().id(id(2)).send().await.expect("200");
    assert!(none.is_empty());
}

#[tokio::test]
async fn pages_and_404s() {
    let app = TestApp::start(&[users_orders::FUNCTION]).await;
    app.sql("INSERT INTO orders (user_id, total_amount) SELECT 2, 0 FROM generate_series(1, 3)")
        .await;
    let client = app.client();
    let two = std::num::NonZeroU64::new(2).expect("2");
    let page = client.users_orders().id(id(2)).limit(two).send().await;
    let page = page.expect("200");
    assert_eq!(page.len(), 2);
    assert_eq!(
        page.headers().get("link").map(|l| l.to_str().ok()),
        Some(Some("</api/users/2/orders?limit=2&after=3>; rel=\"next\""))
    );
    assert!(page[0].items.is_empty());
    match refused(client.users_orders().id(id(999)).send().await).await {
        ApiError::Problem { status, .. } => assert_eq!(status, 404),
        other => panic!("expected 404, got {other:?}"),
    }
    // Raw: not an id.
    app.get("/api/users/x/orders").await.problem(400);
}
