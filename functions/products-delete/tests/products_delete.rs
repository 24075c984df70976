//! DELETE /api/products/{id}, through the typed client (`shop-client`):
//! deleted, then 404; a product in orders refused with a typed 409.

use test_support::shop_client::ApiError;
use test_support::{id, refused, TestApp};

#[tokio::test]
async fn deletes_a_product_no_order_refers_to() {
    let app = TestApp::start(&[products_delete::FUNCTION]).await;
    let client = app.client();
    let deleted = client.products_delete().id(id(2)).send().await;
    assert_eq!(deleted.expect("204").status().as_u16(), 204);
    assert_eq!(
        app.scalar("SELECT count(*) FROM products WHERE id = 2")
            .await,
        0
    );
    let again = refused(client.products_delete().id(id(2)).send().await).await;
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404), "{again:?}");
}

#[tokio::test]
async fn a_product_in_orders_is_409_and_kept() {
    let app = TestApp::start(&[products_delete::FUNCTION]).await;
    let refusal = refused(app.client().products_delete().id(id(1)).send().await).await;
    assert!(matches!(refusal, ApiError::Conflict(_)), "{refusal:?}");
    assert_eq!(
        app.scalar("SELECT count(*) FROM products WHERE id = 1")
            .await,
        1
    );
}
