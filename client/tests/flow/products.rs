//! Products through the client: a price as a string read as a number,
//! changed under `If-Match`, a description cleared with null, the list
//! filtered, a stale delete refused and a delete without a tag.

use std::num::NonZeroU64;

use shop_client::{types, ApiError};

use crate::{etag, is_not_modified, new_product, refused, start};

#[tokio::test]
async fn a_product_is_changed_cleared_filtered_and_deleted() {
    let (_app, client) = start().await;
    let product = new_product(&client, "rust-product", 5).await;
    assert_eq!(*product.price, 12.5);
    let id: NonZeroU64 = *product.id;
    let got = client.products_get().id(id).send().await.expect("200");
    let tag = etag(&got);
    assert!(is_not_modified(
        client
            .products_get_head()
            .id(id)
            .if_none_match(&tag)
            .send()
            .await
    ));
    let changes = types::ProductChanges::builder()
        .description(Some(types::Description(Some(
            "described".try_into().expect("text"),
        ))))
        .price(Some(types::PriceInput::Number(20.0)));
    let put = client
        .products_update_put()
        .id(id)
        .if_match(tag.as_str())
        .body(changes)
        .send()
        .await;
    assert_eq!(
        put.expect("200").description.as_deref().map(|d| d.as_str()),
        Some("described")
    );
    let clear = types::ProductChanges::builder().description(Some(types::Description(None)));
    let cleared = client
        .products_update()
        .id(id)
        .body(clear)
        .send()
        .await
        .expect("200");
    assert!(cleared.description.is_none());
    let found = client
        .products_list()
        .q("rust-product")
        .min_price("19.99")
        .in_stock(true)
        .send()
        .await;
    assert_eq!(
        found
            .expect("200")
            .iter()
            .map(|p| *p.id)
            .collect::<Vec<_>>(),
        vec![id]
    );
    assert!(client
        .products_list_head()
        .q("rust-product")
        .send()
        .await
        .is_ok());
    let stale = client
        .products_delete()
        .id(id)
        .if_match(tag.as_str())
        .send()
        .await;
    match refused(stale).await {
        ApiError::PreconditionFailed { current_etag, .. } => {
            assert_eq!(current_etag, Some(etag(&cleared)));
        }
        other => panic!("expected 412, got {other:?}"),
    }
    assert!(client.products_delete().id(id).send().await.is_ok());
}
