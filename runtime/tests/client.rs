//! Conventions driven through the Rust client (`shop-client`, generated
//! from openapi.yaml) instead of requests built by hand: what a Rust
//! integrator's code does, typed problems included.

use std::num::NonZeroU64;

use runtime::registry::FUNCTIONS;
use shop_client::types::{self, OrderStatus, Problem};
use shop_client::{Client, Failure, ResponseValue};
use test_support::TestApp;

fn etag<T>(answer: &ResponseValue<T>) -> String {
    let tag = answer.headers().get("etag").expect("an ETag");
    tag.to_str().expect("an ASCII ETag").to_owned()
}

#[tokio::test]
async fn a_stale_if_match_on_an_order_keeps_its_status_and_stock() {
    let app = TestApp::start(FUNCTIONS).await;
    let client = Client::new(&app.url(""));
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
        .await
        .expect_err("412");
    let stale = Failure::<Problem>::read(stale).await.expect("a problem");
    assert_eq!(stale.status.as_u16(), 412);
    assert_eq!(stale.problem.status, 412);
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
