//! The whole HTTP contract, driven through the progenitor client against a
//! runtime serving every function over a fresh database, whose `health` has
//! a small rate limit of its own (for the 429). Each test starts its own.
//! One test binary, a module for each part of the API.

mod document;
mod orders;
mod problems;
mod products;
mod users;

use shop_client::{types, Client, Error};
use test_support::{etag, refused, TestApp};

use runtime::registry::FUNCTIONS;

async fn start() -> (TestApp, Client) {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings
            .function_rates
            .insert("health".into(), Some("5/m".parse().expect("a rate")));
    })
    .await;
    let client = app.client();
    (app, client)
}

/// 304, also on a HEAD, whose error carries no body to type.
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
