//! Orders through the client: placed, replayed by `Idempotency-Key`,
//! refused on oversell (409, nothing taken), listed by user and status,
//! moved under `If-Match`, and a move back refused.

use std::num::NonZeroU64;

use shop_client::types::{self, OrderStatus};
use shop_client::ApiError;

use crate::{etag, new_product, new_user, refused, start};

#[tokio::test]
async fn an_order_is_placed_replayed_refused_on_oversell_and_moved() {
    let (app, client) = start().await;
    let (user, _) = new_user(&client, "rust-buyer").await;
    let product = new_product(&client, "rust-scarce", 3).await;
    let item = types::NewOrderItem::builder()
        .product_id(product.id.clone())
        .quantity(2);
    let item: types::NewOrderItem = item.try_into().expect("an item");
    let body = types::NewOrder::builder()
        .user_id(user.id.clone())
        .items(vec![item]);
    let body: types::NewOrder = body.try_into().expect("an order");
    let created = client
        .orders_create()
        .idempotency_key("rust-key")
        .body(body.clone())
        .send()
        .await;
    let order = created.expect("201").into_inner();
    assert_eq!(*order.total_amount, 25.0);
    let replayed = client
        .orders_create()
        .idempotency_key("rust-key")
        .body(body.clone())
        .send()
        .await;
    let replayed = replayed.expect("201");
    assert_eq!(*replayed.id, *order.id);
    assert_eq!(
        replayed
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    // One left: two more is 409, and nothing is taken.
    match refused(client.orders_create().body(body).send().await).await {
        ApiError::Conflict(problem) => assert_eq!(problem.status, 409),
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(
        app.stock(i64::try_from(product.id.0.get()).expect("a BIGINT id"))
            .await,
        1
    );
    let id: NonZeroU64 = *order.id;
    let got = client.orders_get().id(id).send().await.expect("200");
    let tag = etag(&got);
    let unchanged = refused(client.orders_get().id(id).if_none_match(&tag).send().await).await;
    assert!(
        matches!(unchanged, ApiError::NotModified { .. }),
        "{unchanged:?}"
    );
    assert!(client.orders_get_head().id(id).send().await.is_ok());
    let mine = client
        .orders_list()
        .user_id(*user.id)
        .status(OrderStatus::Pending)
        .send()
        .await;
    assert_eq!(
        mine.expect("200").iter().map(|o| *o.id).collect::<Vec<_>>(),
        vec![id]
    );
    assert!(client.orders_list_head().send().await.is_ok());
    let confirm = types::OrderStatusChange {
        status: OrderStatus::Confirmed,
    };
    let confirmed = client
        .orders_update()
        .id(id)
        .if_match(tag.as_str())
        .body(confirm.clone())
        .send()
        .await;
    let confirmed = confirmed.expect("200");
    assert_eq!(confirmed.status, OrderStatus::Confirmed);
    let stale = client
        .orders_update()
        .id(id)
        .if_match(tag.as_str())
        .body(confirm)
        .send()
        .await;
    match refused(stale).await {
        ApiError::PreconditionFailed { current_etag, .. } => {
            assert_eq!(current_etag, Some(etag(&confirmed)));
        }
        other => panic!("expected 412, got {other:?}"),
    }
    let back = types::OrderStatusChange {
        status: OrderStatus::Pending,
    };
    match refused(client.orders_update().id(id).body(back).send().await).await {
        ApiError::Conflict(problem) => assert_eq!(problem.title, "Conflict"),
        other => panic!("expected 409, got {other:?}"),
    }
}
