//! POST /api/orders through the typed client (`shop-client`), which also
//! sends `Idempotency-Key`. Built by hand, each saying why: bodies the
//! client's types cannot hold (missing fields, wrong types, out-of-range or
//! float-written numbers) and a key its pattern refuses.

use std::sync::Arc;

use test_support::sample::{BOB, JOHN, KEYBOARD, LAPTOP, MOUSE, MOUSE_STOCK};
use test_support::shop_client::types::{NewOrder, NewOrderItem, Order};
use test_support::shop_client::{ApiError, ByteStream, Error, ResponseValue, Typed};
use test_support::{id, json, problem, TestApp};

async fn app() -> TestApp {
    TestApp::start(&[orders_create::FUNCTION]).await
}

/// An order as the typed client builds it: `user`'s, of (product, quantity).
fn order(user: i64, items: &[(i64, u32)]) -> NewOrder {
    let items = items.iter().map(|&(product, quantity)| {
        let item = NewOrderItem::builder()
            .product_id(id(product))
            .quantity(quantity);
        item.try_into().expect("a valid item")
    });
    let order = NewOrder::builder()
        .user_id(id(user))
        .items(items.collect::<Vec<_>>());
    order.try_into().expect("a valid order")
}

/// POST /api/orders through the typed client, with `key` as its
/// `Idempotency-Key` if there is one; the answer untyped.
async fn post(
    app: &TestApp,
    order: NewOrder,
    key: Option<&str>,
) -> Result<ResponseValue<Order>, Error<ByteStream>> {
    let client = app.client();
    let request = client.orders_create().body(order);
    match key {
        Some(key) => request.idempotency_key(key).send().await,
        None => request.send().await,
    }
}

/// POST /api/orders through the typed client.
async fn place(app: &TestApp, order: NewOrder) -> Result<Order, ApiError> {
    let answer = post(app, order, None).await;
    answer.typed().await.map(|created| created.into_inner())
}

/// The field errors of a 422 problem answer, as (field, message).
async fn invalid(answer: Result<ResponseValue<Order>, Error<ByteStream>>) -> Vec<(String, String)> {
    match problem(answer, 422).await {
        ApiError::Validation(problem) => {
            let errors = problem.errors.into_iter();
            errors.map(|error| (error.field, error.message)).collect()
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn creates_an_order_at_current_prices_and_takes_the_stock() {
    let app = app().await;
    let response = post(&app, order(2, &[(MOUSE, 3), (LAPTOP, 1)]), None).await;
    let response = response.expect("201");
    assert_eq!(response.status(), 201);
    let location = response.headers().get("location");
    let location = location.and_then(|location| location.to_str().ok());
    let location = location.map(str::to_owned);
    let order = response.into_inner();
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/orders/{}", *order.id).as_str())
    );
    assert_eq!(order.user_id.get(), 2);
    assert_eq!(order.status.to_string(), "pending");
    assert_eq!(*order.total_amount, 1389.96);
    let items = &order.items;
    assert_eq!(items.len(), 2);
    assert_eq!((items[0].product_id.get(), items[0].quantity.get()), (2, 3));
    assert_eq!(*items[0].price, 29.99);
    assert_eq!(*items[0].subtotal, 89.97);
    assert_eq!(*items[1].price, 1299.99);
    assert_eq!(app.stock(MOUSE).await, 97);
    assert_eq!(app.stock(LAPTOP).await, 7);
    // Later price changes do not touch the order.
    app.sql("UPDATE products SET price = 1 WHERE id = 2").await;
    let kept = app
        .sql(&format!(
            "SELECT price::text FROM order_items WHERE order_id = {} AND product_id = 2",
            *order.id
        ))
        .await;
    assert_eq!(kept[0].get::<_, String>(0), "29.99");
}

#[tokio::test]
async fn repeated_products_are_summed_against_the_stock() {
    let app = app().await;
    app.sql("UPDATE products SET stock_quantity = 5 WHERE id = 3")
        .await;
    let six = place(&app, order(JOHN, &[(KEYBOARD, 3), (KEYBOARD, 3)])).await;
    assert!(matches!(six, Err(ApiError::Conflict(_))), "{six:?}");
    assert_eq!(app.stock(KEYBOARD).await, 5);
    let five = place(&app, order(JOHN, &[(KEYBOARD, 2), (KEYBOARD, 3)])).await;
    assert_eq!(five.expect("201").items.len(), 2);
    assert_eq!(app.stock(KEYBOARD).await, 0);
}

#[tokio::test]
async fn unknown_users_and_products_are_422_and_change_nothing() {
    let app = app().await;
    let errors = invalid(post(&app, order(999, &[(LAPTOP, 1)]), None).await).await;
    assert_eq!(errors[0].0, "user_id");
    let errors = invalid(post(&app, order(JOHN, &[(LAPTOP, 1), (777, 1)]), None).await).await;
    assert_eq!(errors[0].0, "items[1].product_id");
    assert_eq!(app.stock(LAPTOP).await, 8);
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn malformed_orders_are_422() {
    let app = app().await;
    let errors = invalid(post(&app, order(JOHN, &[]), None).await).await;
    assert_eq!(errors[0].0, "items", "{errors:?}");
    // Raw JSON: the client's types hold none of these (no quantity 0 or
    // above u32, no id below 1, no missing field, no string for a number).
    let cases = [
        (
            json!({"user_id": 1, "items": [{"product_id": 1, "quantity": 0}]}),
            "items[0].quantity",
        ),
        (
            json!({"user_id": 1, "items": [{"product_id": -1, "quantity": 1}]}),
            "items[0].product_id",
        ),
        (
            json!({"user_id": 1, "items": [{"product_id": 1}]}),
            "items[0].quantity",
        ),
        (
            json!({"user_id": "1", "items": [{"product_id": 1, "quantity": 1}]}),
            "user_id",
        ),
        (
            json!({"user_id": 1, "items": [{"product_id": 1, "quantity": 99_999_999_999_i64}]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [{"product_id": 1, "quantity": 1}]}),
            "user_id",
        ),
    ];
    for (body, field) in cases {
        let problem = app.post("/api/orders", &body).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
}

#[tokio::test]
async fn whole_numbers_written_as_floats_are_integers() {
    let app = app().await;
    // Raw JSON: the client writes ids and quantities as integers.
    let order = app
        .post(
            "/api/orders",
            &json!({"user_id": 2.0, "items": [{"product_id": 3.0, "quantity": 2.0}]}),
        )
        .await
        .assert_status(201)
        .json();
    assert_eq!(order["items"][0]["quantity"], 2);
}

#[tokio::test]
async fn not_enough_stock_is_409() {
    let app = app().await;
    match place(&app, order(JOHN, &[(LAPTOP, 9)])).await {
        Err(ApiError::Conflict(problem)) => {
            assert!(problem.detail.contains("8 available"), "{problem:?}");
        }
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(app.stock(LAPTOP).await, 8);
}

#[tokio::test]
async fn a_total_above_the_column_is_422_and_takes_no_stock() {
    let app = app().await;
    let id = app
        .scalar(
            "INSERT INTO products (name, price, stock_quantity)
             VALUES ('Yacht', 99999999.99, 500) RETURNING id",
        )
        .await;
    // 101 × 99,999,999.99 is above NUMERIC(12, 2)'s 9,999,999,999.99.
    let errors = invalid(post(&app, order(JOHN, &[(id, 101)]), None).await).await;
    assert_eq!(errors[0].0, "items", "{errors:?}");
    assert_eq!(app.stock(id).await, 500);
    // At the limit's side of it, the same product sells.
    let sold = post(&app, order(JOHN, &[(id, 100)]), None).await;
    assert_eq!(sold.expect("201").status(), 201);
    assert_eq!(app.stock(id).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_orders_for_ten_units_sell_exactly_ten() {
    let app = Arc::new(app().await);
    app.sql("UPDATE products SET stock_quantity = 10 WHERE id = 2")
        .await;
    let racers: Vec<_> = (0..50)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                // Mixed baskets lock two products: id order keeps them from deadlocking.
                let basket = if i % 2 == 0 {
                    order(JOHN, &[(MOUSE, 1), (KEYBOARD, 1)])
                } else {
                    order(2, &[(KEYBOARD, 1), (MOUSE, 1)])
                };
                match post(&app, basket, None).await.typed().await {
                    Ok(created) => created.status().as_u16(),
                    Err(error) => error.status().map_or(0, |status| status.as_u16()),
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, refused), (10, 40), "{statuses:?}");
    assert_eq!(app.stock(MOUSE).await, 0);
    assert_eq!(app.stock(KEYBOARD).await, 40);
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 11);
}

#[tokio::test]
async fn a_retried_post_with_the_same_key_returns_the_first_order() {
    let app = app().await;
    let key = Some("retry-7f3a");
    let first = post(&app, order(BOB, &[(MOUSE, 4)]), key)
        .await
        .expect("201");
    assert_eq!(first.status(), 201);
    let again = post(&app, order(BOB, &[(MOUSE, 4)]), key)
        .await
        .expect("201");
    assert_eq!(again.status(), 201);
    let replayed = again.headers().get("idempotent-replayed").cloned();
    let as_json = |order: &Order| serde_json::to_value(order).expect("an order serialises");
    assert_eq!(as_json(&again), as_json(&first));
    assert_eq!(
        replayed.as_ref().map(|v| v.to_str().ok()),
        Some(Some("true"))
    );
    assert_eq!(app.stock(MOUSE).await, MOUSE_STOCK - 4);
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 2);

    let other = post(&app, order(BOB, &[(MOUSE, 5)]), key).await;
    match problem(other, 422).await {
        ApiError::Validation(problem) => {
            assert_eq!(problem.errors[0].field, "Idempotency-Key");
            assert!(
                problem.detail.contains("Idempotency-Key header"),
                "{problem:?}"
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
    assert_eq!(app.stock(MOUSE).await, MOUSE_STOCK - 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_with_one_key_make_one_order() {
    let app = Arc::new(app().await);
    // The last one in stock: a duplicate that did not wait for its twin
    // would see none left and answer 409.
    let last = app
        .scalar(
            "INSERT INTO products (name, price, stock_quantity) VALUES ('last', 5, 1) RETURNING id",
        )
        .await;
    let duplicates: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let basket = order(JOHN, &[(last, 1)]);
                post(&app, basket, Some("one-click")).await.typed().await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for duplicate in duplicates {
        let created = duplicate.await.unwrap().expect("201");
        assert_eq!(created.status(), 201, "{created:?}");
        ids.push(created.id.get());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.stock(last).await, 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'one-click'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_400() {
    let app = app().await;
    // Raw: the client refuses to send a key outside its pattern.
    let body = json!({"user_id": JOHN, "items": [{"product_id": KEYBOARD, "quantity": 1}]});
    app.post_with("/api/orders", &body, &[("idempotency-key", "has space")])
        .await
        .problem(400);
}

#[tokio::test]
async fn ids_and_quantities_a_float_would_round_are_422() {
    let app = app().await;
    let before = app.stock(LAPTOP).await;
    // Raw bytes: the point is the number as written, which no typed value keeps.
    for (body, field, message) in [
        (
            r#"{"user_id": 1, "items": [{"product_id": 1, "quantity": 2.9999999999999999}]}"#,
            "items[0].quantity",
            None,
        ),
        (
            r#"{"user_id": 1.0000000000000001, "items": [{"product_id": 1, "quantity": 1}]}"#,
            "user_id",
            Some("must be a positive integer"),
        ),
        (
            r#"{"user_id": "1", "items": [{"product_id": 1, "quantity": 1}]}"#,
            "user_id",
            Some("must be a positive integer"),
        ),
    ] {
        let problem = app
            .request(
                http::Method::POST,
                "/api/orders",
                &[("content-type", "application/json")],
                Some(body.as_bytes().to_vec()),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        if let Some(message) = message {
            assert_eq!(problem["errors"][0]["message"], message, "{body}");
        }
    }
    assert_eq!(app.stock(LAPTOP).await, before);
}

/// The user is checked, then deleted while the order waits for a product
/// lock: the insert finds no user, which is the same 422 as a user who was
/// never there, not a generic conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_while_their_order_is_placed_is_422() {
    let app = Arc::new(app().await);
    let before = app.stock(LAPTOP).await;
    let user = app
        .scalar("INSERT INTO users (username, email) VALUES ('leaving', 'leaving@example.com') RETURNING id")
        .await;
    let locker = test_support::connect(&app.database_url).await.unwrap();
    locker
        .batch_execute("BEGIN; SELECT * FROM products WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();
    let placing = {
        let app = app.clone();
        tokio::spawn(
            async move { invalid(post(&app, order(user, &[(LAPTOP, 1)]), None).await).await },
        )
    };
    // Wait until the order is queued on the product lock, past its user check.
    let waiting = "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'";
    while app.scalar(waiting).await == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.sql(&format!("DELETE FROM users WHERE id = {user}"))
        .await;
    locker.batch_execute("ROLLBACK").await.unwrap();
    let errors = placing.await.unwrap();
    assert_eq!(errors[0].0, "user_id");
    assert_eq!(errors[0].1, format!("user {user} does not exist"));
    assert_eq!(app.stock(LAPTOP).await, before);
}
