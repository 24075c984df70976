//! The whole HTTP contract, driven through the progenitor client against a
//! runtime serving every function over a fresh database, whose `health` has
//! a small rate limit of its own (for the 429). Each test starts its own.

use std::num::NonZeroU64;

use runtime::registry::FUNCTIONS;
use shop_client::types::{self, OrderStatus, Problem, ValidationProblem};
use shop_client::{ByteStream, Client, Error, Failure};
use test_support::TestApp;

async fn start() -> (TestApp, Client) {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings
            .function_rates
            .insert("health".into(), Some("5/m".parse().expect("a rate")));
    })
    .await;
    let client = Client::new(&app.url(""));
    (app, client)
}

/// The problem of an error answer of this status.
async fn failure<P: serde::de::DeserializeOwned>(
    result: Result<impl std::fmt::Debug, Error<ByteStream>>,
    status: u16,
) -> Failure<P> {
    let error = result.expect_err("an error answer");
    let failure = Failure::<P>::read(error).await.expect("a problem document");
    assert_eq!(failure.status.as_u16(), status);
    failure
}

fn etag<T>(answer: &shop_client::ResponseValue<T>) -> String {
    let tag = answer.headers().get("etag").expect("an ETag");
    tag.to_str().expect("an ASCII ETag").to_owned()
}

fn is_not_modified<T, E>(result: Result<T, Error<E>>) -> bool {
    matches!(result, Err(error) if error.status().map(|status| status.as_u16()) == Some(304))
}

async fn new_user(client: &Client, name: &str) -> (types::User, String) {
    let body = types::NewUser::builder()
        .username(name)
        .email(format!("{name}@example.com").as_str());
    let created = client.users_create().body(body).send().await.expect("201");
    assert_eq!(created.status().as_u16(), 201);
    let tag = etag(&created);
    (created.into_inner(), tag)
}

async fn new_product(client: &Client, name: &str, stock: i32) -> types::Product {
    let price = types::PriceInput::String("12.50".try_into().expect("a decimal string"));
    let body = types::NewProduct::builder()
        .name(name)
        .price(price)
        .stock_quantity(types::StockQuantity(stock));
    let created = client.products_create().body(body).send().await;
    created.expect("201").into_inner()
}

#[tokio::test]
async fn the_client_is_generated_from_the_served_document() {
    let (app, client) = start().await;
    let served: serde_json::Value = app.get("/openapi.json").await.json();
    let compiled: serde_json::Value =
        serde_json::from_str(shop_client::DOCUMENT).expect("the compiled document");
    assert_eq!(served, compiled);
    let info = client.index().send().await.expect("200").into_inner();
    assert_eq!(info.routes.len(), 36);
    assert_eq!(
        client.health().send().await.expect("200").status().as_u16(),
        200
    );
    assert_eq!(
        client
            .db_check()
            .send()
            .await
            .expect("200")
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        client
            .metrics()
            .send()
            .await
            .expect("200")
            .status()
            .as_u16(),
        200
    );
    let document = client.openapi_json().send().await.expect("200");
    let tag = etag(&document);
    assert!(is_not_modified(
        client.openapi_json().if_none_match(tag).send().await
    ));
    assert_eq!(
        client
            .openapi_yaml()
            .send()
            .await
            .expect("200")
            .status()
            .as_u16(),
        200
    );
    assert!(client.index_head().send().await.is_ok());
    assert!(client.health_head().send().await.is_ok());
    assert!(client.db_check_head().send().await.is_ok());
    assert!(client.metrics_head().send().await.is_ok());
    assert!(client.openapi_json_head().send().await.is_ok());
    assert!(client.openapi_yaml_head().send().await.is_ok());
}

#[tokio::test]
async fn a_user_is_created_read_updated_under_if_match_and_deleted() {
    let (_app, client) = start().await;
    let (user, tag) = new_user(&client, "rust-user").await;
    let id: NonZeroU64 = *user.id;
    let got = client.users_get().id(id).send().await.expect("200");
    assert_eq!(got.username.as_str(), "rust-user");
    assert!(is_not_modified(
        client.users_get().id(id).if_none_match(&tag).send().await
    ));
    assert!(is_not_modified(
        client
            .users_get_head()
            .id(id)
            .if_none_match(&tag)
            .send()
            .await
    ));
    let renamed =
        types::UserChanges::builder().username(Some("rust-renamed".try_into().expect("a name")));
    let put = client
        .users_update_put()
        .id(id)
        .if_match(tag.as_str())
        .body(renamed)
        .send()
        .await;
    let put = put.expect("200");
    assert_eq!(put.username.as_str(), "rust-renamed");
    // The tag the PUT replaced is stale now: 412, with the current tag.
    let email =
        types::UserChanges::builder().email(Some("rust@example.org".try_into().expect("an email")));
    let stale = client
        .users_update()
        .id(id)
        .if_match(tag.as_str())
        .body(email.clone())
        .send()
        .await;
    let stale = failure::<Problem>(stale, 412).await;
    assert_eq!(
        stale.headers.get("etag").map(|t| t.to_str().ok()),
        Some(Some(etag(&put).as_str()))
    );
    let patched = client
        .users_update()
        .id(id)
        .if_match("*")
        .body(email)
        .send()
        .await
        .expect("200");
    assert_eq!(patched.email.as_str(), "rust@example.org");
    let orders = client.users_orders().id(id).send().await.expect("200");
    assert!(orders.is_empty());
    assert!(client.users_orders_head().id(id).send().await.is_ok());
    assert!(client.users_list_head().send().await.is_ok());
    failure::<Problem>(
        client
            .users_delete()
            .id(id)
            .if_match(tag.as_str())
            .send()
            .await,
        412,
    )
    .await;
    let deleted = client
        .users_delete()
        .id(id)
        .if_match(etag(&patched).as_str())
        .send()
        .await;
    assert_eq!(deleted.expect("204").status().as_u16(), 204);
    let gone = failure::<Problem>(client.users_get().id(id).send().await, 404).await;
    assert_eq!(gone.problem.title, "Not Found");
}

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
    failure::<Problem>(
        client
            .products_delete()
            .id(id)
            .if_match(tag.as_str())
            .send()
            .await,
        412,
    )
    .await;
    assert!(client.products_delete().id(id).send().await.is_ok());
}

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
    failure::<Problem>(client.orders_create().body(body).send().await, 409).await;
    assert_eq!(
        app.stock(i64::try_from(product.id.0.get()).expect("a BIGINT id"))
            .await,
        1
    );
    let id: NonZeroU64 = *order.id;
    let got = client.orders_get().id(id).send().await.expect("200");
    let tag = etag(&got);
    assert!(is_not_modified(
        client.orders_get().id(id).if_none_match(&tag).send().await
    ));
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
    assert_eq!(confirmed.expect("200").status, OrderStatus::Confirmed);
    failure::<Problem>(
        client
            .orders_update()
            .id(id)
            .if_match(tag.as_str())
            .body(confirm)
            .send()
            .await,
        412,
    )
    .await;
    let back = types::OrderStatusChange {
        status: OrderStatus::Pending,
    };
    let refused =
        failure::<Problem>(client.orders_update().id(id).body(back).send().await, 409).await;
    assert_eq!(refused.problem.title, "Conflict");
}

#[tokio::test]
async fn a_422_is_a_validation_problem_that_names_the_field() {
    let (_app, client) = start().await;
    // The client checks what it can (the email's length) before sending;
    // the server checks the rest.
    let bad = serde_json::json!({"username": "rust-bad", "email": "not-an-email"});
    let body: types::NewUser = serde_json::from_value(bad).expect("the client's own checks pass");
    let refused =
        failure::<ValidationProblem>(client.users_create().body(body).send().await, 422).await;
    let fields: Vec<_> = refused
        .problem
        .errors
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["email"]);
}

#[tokio::test]
async fn pages_follow_link_by_after() {
    let (_app, client) = start().await;
    for name in ["rust-page-1", "rust-page-2", "rust-page-3"] {
        new_user(&client, name).await;
    }
    let everyone = client.users_list().limit(1000).send().await.expect("200");
    let everyone: Vec<_> = everyone.iter().map(|u| *u.id).collect();
    let (mut seen, mut after) = (Vec::new(), 0_u64);
    for _ in 0..=everyone.len() {
        let page = client
            .users_list()
            .limit(2)
            .after(after)
            .send()
            .await
            .expect("200");
        seen.extend(page.iter().map(|u| *u.id));
        let Some(link) = page.headers().get("link") else {
            break;
        };
        let link = link.to_str().expect("an ASCII Link");
        let next = link
            .split("after=")
            .nth(1)
            .and_then(|rest| rest.split('>').next());
        after = next
            .and_then(|id| id.parse().ok())
            .expect("a next page's after");
    }
    assert_eq!(seen, everyone);
    assert!(seen.len() >= 6);
}

#[tokio::test]
async fn over_the_rate_limit_is_a_429_with_retry_after() {
    let (_app, client) = start().await;
    let mut answer = client.health().send().await;
    for _ in 0..20 {
        if answer.is_err() {
            break;
        }
        answer = client.health().send().await;
    }
    let limited = failure::<Problem>(answer, 429).await;
    assert_eq!(limited.problem.title, "Too Many Requests");
    assert!(limited.headers.contains_key("retry-after"));
}
