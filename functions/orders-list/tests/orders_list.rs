//! GET /api/orders. Filters and paging go through the typed client
//! (`shop-client`); malformed and repeated parameters stay raw requests,
//! since the typed client will not send them.

use test_support::shop_client::types::{Order, OrderStatus};
use test_support::shop_client::ResponseValue;
use test_support::{id, TestApp};

fn ids(page: &ResponseValue<Vec<Order>>) -> Vec<u64> {
    page.iter().map(|o| o.id.get()).collect()
}

#[tokio::test]
async fn lists_orders_with_items_and_filters() {
    let app = TestApp::start(&[orders_list::FUNCTION]).await;
    app.sql("INSERT INTO orders (user_id, status, total_amount) VALUES (2, 'shipped', 0), (2, 'pending', 0), (3, 'shipped', 0)")
        .await;
    let client = app.client();
    let all = client.orders_list().send().await.expect("200");
    assert_eq!(all.len(), 4);
    assert_eq!(*all[0].items[0].subtotal, 2599.98);
    let of_jane = client.orders_list().user_id(id(2)).send().await;
    assert_eq!(ids(&of_jane.expect("200")), [2, 3]);
    let shipped = client.orders_list().status(OrderStatus::Shipped).send();
    assert_eq!(ids(&shipped.await.expect("200")), [2, 4]);
    let of_bob = client
        .orders_list()
        .status(OrderStatus::Shipped)
        .user_id(id(3))
        .send()
        .await;
    assert_eq!(ids(&of_bob.expect("200")), [4]);
    let page = client
        .orders_list()
        .status(OrderStatus::Shipped)
        .limit(std::num::NonZeroU64::new(1).expect("1"))
        .send()
        .await
        .expect("200");
    assert_eq!(
        page.headers().get("link").map(|l| l.to_str().ok()),
        Some(Some(
            "</api/orders?status=shipped&limit=1&after=2>; rel=\"next\""
        ))
    );
}

#[tokio::test]
async fn malformed_filters_are_400() {
    // Raw: values the typed client refuses to send.
    let app = TestApp::start(&[orders_list::FUNCTION]).await;
    app.get("/api/orders?status=lost").await.problem(400);
    app.get("/api/orders?user_id=abc").await.problem(400);
    app.get("/api/orders?user_id=0").await.problem(400);
    app.get("/api/orders?user_id=-4").await.problem(400);
    app.get("/api/orders?user_id=99999999999999999999")
        .await
        .problem(400);
}

#[tokio::test]
async fn a_bad_or_repeated_parameter_is_400_naming_it() {
    // Raw: repeated parameters are a query-string detail.
    let app = TestApp::start(&[orders_list::FUNCTION]).await;
    for (query, name) in [
        ("user_id=abc", "user_id"),
        ("status=lost", "status"),
        ("limit=2&limit=3", "limit"),
        ("offset=1&offset=1", "offset"),
        ("user_id=1&user_id=1", "user_id"),
        ("status=pending&status=shipped", "status"),
    ] {
        let problem = app.get(&format!("/api/orders?{query}")).await.problem(400);
        assert_eq!(problem["errors"][0]["field"], name, "{query}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{query}: {problem}"
        );
    }
}
