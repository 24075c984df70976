//! PUT and PATCH /api/products/{id}. The changes (a null clearing the
//! description) and an unknown product go through the typed client
//! (`shop-client`); bodies the typed client cannot build (empty, null
//! where not allowed, negative values) stay raw requests.

use test_support::shop_client::types::{Description, PriceInput, ProductChanges, StockQuantity};
use test_support::{id, json, refused, TestApp};

#[tokio::test]
async fn patch_changes_what_is_given_and_null_clears_description() {
    let app = TestApp::start(&[products_update::FUNCTION]).await;
    let changes = ProductChanges::builder()
        .price(Some(PriceInput::String(
            "24.50".try_into().expect("a price"),
        )))
        .description(Some(Description(None)));
    let product = app
        .client()
        .products_update()
        .id(id(2))
        .body(changes)
        .send()
        .await
        .expect("200");
    assert_eq!(*product.price, 24.5);
    assert!(product.description.is_none());
    assert_eq!(product.name.as_str(), "Mouse");
    assert_eq!(product.stock_quantity.0, 100);
    assert!(*product.updated_at > *product.created_at);
}

#[tokio::test]
async fn put_replaces_fields() {
    let app = TestApp::start(&[products_update::FUNCTION]).await;
    let changes = ProductChanges::builder()
        .name(Some("Keyboard Pro".try_into().expect("a name")))
        .description(Some(Description(Some("RGB".try_into().expect("text")))))
        .price(Some(PriceInput::Number(99.0)))
        .stock_quantity(Some(StockQuantity(5)));
    let product = app
        .client()
        .products_update_put()
        .id(id(3))
        .body(changes)
        .send()
        .await
        .expect("200");
    assert_eq!(product.name.as_str(), "Keyboard Pro");
    assert_eq!(product.stock_quantity.0, 5);
}

#[tokio::test]
async fn invalid_changes_and_unknown_products() {
    let app = TestApp::start(&[products_update::FUNCTION]).await;
    // Raw: bodies the typed client will not build.
    for body in [
        json!({}),
        json!({"name": null}),
        json!({"price": -5}),
        json!({"stock_quantity": -1}),
        json!({"name": "ok", "stock_quantity": null}),
    ] {
        app.patch("/api/products/1", &body).await.problem(422);
    }
    let one = ProductChanges::builder().price(Some(PriceInput::Number(1.0)));
    let client = app.client();
    let missing = refused(client.products_update().id(id(999)).body(one).send().await).await;
    assert_eq!(
        missing.status().map(|s| s.as_u16()),
        Some(404),
        "{missing:?}"
    );
}
