//! Conventions driven through the Rust client (`shop-client`, generated
//! from openapi.yaml) instead of requests built by hand: what a Rust
//! integrator's code does, typed problems included.

use std::num::NonZeroU64;

use runtime::registry::FUNCTIONS;
use shop_client::types::{self, OrderStatus};
use shop_client::ApiError;
use test_support::{etag, refused, TestApp};

#[tokio::test]
async fn a_stale_if_match_on_an_order_keeps_its_status_and_stock() {
    let app = TestApp::start(FUNCTIONS).await;
    let client = app.client();
    let price = types::PriceInput::Number(12.5);
    let product = types::NewProduct::builder()
        .name("Lamp")
        .price(price)
        .stock_quantity(types::StockQuantity(10));
    let product = client
        .products_create()
        .body(product)
        .send()
        .await
        .expect("201");
    let user = types::NewUser::builder()
        .username("cy")
        .email("cy@example.com");
    let user = client.users_create().body(user).send().await.expect("201");
    let item = types::NewOrderItem::builder()
        .product_id(product.id.clone())
        .quantity(4);
    let item: types::NewOrderItem = item.try_into().expect("an item");
    let order = types::NewOrder::builder()
        .user_id(user.id.clone())
        .items(vec![item]);
    let order = client
        .orders_create()
        .body(order)
        .send()
        .await
        .expect("201");
    let id: NonZeroU64 = *order.id;
    let stock = i64::try_from(product.id.0.get()).expect("a BIGINT id");
    let created = etag(&order);
    let confirm = types::OrderStatusChange {
        status: OrderStatus::Confirmed,
    };
    let confirmed = client.orders_update().id(id).body(confirm).send().await;
    let confirmed = confirmed.expect("200");
    assert_ne!(etag(&confirmed), created);

    let cancel = types::OrderStatusChange {
        status: OrderStatus::Cancelled,
    };
    let stale = client
        .orders_update()
        .id(id)
        .if_match(created.as_str())
        .body(cancel.clone())
        .send()
        .await;
    match refused(stale).await {
        ApiError::PreconditionFailed {
            problem,
            current_etag,
        } => {
            assert_eq!(problem.status, 412);
            assert_eq!(current_etag, Some(etag(&confirmed)));
        }
        other => panic!("expected 412, got {other:?}"),
    }
    let now = client.orders_get().id(id).send().await.expect("200");
    assert_eq!(now.status, OrderStatus::Confirmed);
    assert_eq!(app.stock(stock).await, 6, "no stock was put back");
    let cancelled = client
        .orders_update()
        .id(id)
        .if_match(etag(&confirmed).as_str())
        .body(cancel)
        .send()
        .await
        .expect("200");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(app.stock(stock).await, 10);
}
