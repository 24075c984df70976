//! GET /api/products. Listing, filters and the next page's `Link` go
//! through the typed client (`shop-client`); malformed and repeated filters
//! stay raw requests, since the typed client will not send them.

use test_support::shop_client::types::Product;
use test_support::shop_client::{ByteStream, Error, ResponseValue};
use test_support::TestApp;

fn names(page: Result<ResponseValue<Vec<Product>>, Error<ByteStream>>) -> Vec<String> {
    let page = page.expect("200");
    page.iter().map(|p| p.name.as_str().to_owned()).collect()
}

#[tokio::test]
async fn lists_products_with_money_as_numbers() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    let products = app.client().products_list().send().await;
    let products = products.expect("200");
    let names: Vec<_> = products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Laptop", "Mouse", "Keyboard"]);
    assert_eq!(*products[0].price, 1299.99);
    assert_eq!(products[0].stock_quantity.0, 8);
    let description = products[0].description.as_deref().map(|d| d.as_str());
    assert_eq!(description, Some("High-end laptop"));
}

#[tokio::test]
async fn filters_combine() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    app.sql("UPDATE products SET stock_quantity = 0 WHERE name = 'Mouse'")
        .await;
    app.sql(
        "INSERT INTO products (name, price, stock_quantity) VALUES ('100% cotton_shirt', 20, 5)",
    )
    .await;
    let client = app.client();
    let list = || client.products_list();
    assert_eq!(
        names(list().in_stock(true).send().await),
        ["Laptop", "Keyboard", "100% cotton_shirt"]
    );
    assert_eq!(names(list().in_stock(false).send().await), ["Mouse"]);
    assert_eq!(
        names(list().min_price("50").max_price("1000").send().await),
        ["Keyboard"]
    );
    assert_eq!(
        names(list().max_price("29.99").send().await),
        ["Mouse", "100% cotton_shirt"]
    );
    assert_eq!(names(list().q("LAP").send().await), ["Laptop"]);
    // % and _ are plain characters in a search.
    assert_eq!(
        names(list().q("0% cotton_").send().await),
        ["100% cotton_shirt"]
    );
    assert_eq!(names(list().q("%").send().await), ["100% cotton_shirt"]);
    assert_eq!(
        names(list().q("o").in_stock(true).min_price("50").send().await),
        ["Laptop", "Keyboard"]
    );
}

#[tokio::test]
async fn next_link_keeps_the_filters() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    let one = std::num::NonZeroU64::new(1).expect("1");
    let client = app.client();
    let page = client.products_list().in_stock(true).limit(one).send();
    let page = page.await.expect("200");
    assert_eq!(
        page.headers().get("link").map(|l| l.to_str().ok()),
        Some(Some(
            "</api/products?in_stock=true&limit=1&after=1>; rel=\"next\""
        ))
    );
}

#[tokio::test]
async fn malformed_filters_are_400() {
    // Raw: values the typed client refuses to send.
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    for query in [
        "in_stock=maybe",
        "min_price=cheap",
        "max_price=1e400x",
        "limit=-5",
    ] {
        app.get(&format!("/api/products?{query}"))
            .await
            .problem(400);
    }
    let long = "q".repeat(201);
    app.get(&format!("/api/products?q={long}"))
        .await
        .problem(400);
}

#[tokio::test]
async fn a_bad_or_repeated_filter_is_400_naming_it() {
    // Raw: repeated parameters are a query-string detail.
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    for (query, name) in [
        ("in_stock=yes", "in_stock"),
        ("in_stock=true&in_stock=true", "in_stock"),
        ("min_price=cheap", "min_price"),
        ("q=a&q=b", "q"),
    ] {
        let problem = app
            .get(&format!("/api/products?{query}"))
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], name, "{query}: {problem}");
    }
}
