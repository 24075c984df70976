//! POST /api/products through the typed client (`shop-client`). Built by
//! hand, each saying why: bodies its types cannot hold (missing or unknown
//! fields, wrong types, out-of-range or float-written numbers).

use test_support::shop_client::types::{NewProduct, PriceInput, Product};
use test_support::shop_client::{ApiError, ByteStream, Error, ResponseValue};
use test_support::{json, problem, TestApp};

/// A product as the typed client builds it.
fn product(name: &str, description: Option<&str>, price: PriceInput, stock: i32) -> NewProduct {
    let description = description.map(|text| Some(text.try_into().expect("a valid description")));
    let product = NewProduct::builder()
        .name(name.to_owned())
        .description(description.map(Into::into))
        .price(price)
        .stock_quantity(stock);
    product.try_into().expect("a valid product")
}

/// POST /api/products through the typed client; the answer untyped.
async fn create(
    app: &TestApp,
    product: NewProduct,
) -> Result<ResponseValue<Product>, Error<ByteStream>> {
    app.client().products_create().body(product).send().await
}

#[tokio::test]
async fn creates_a_product_from_a_number_or_a_decimal_string() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    let monitor = product("Monitor", Some("27 inch"), 249.5.into(), 7);
    let response = create(&app, monitor).await.expect("201");
    assert_eq!(response.status(), 201);
    let location = response.headers().get("location");
    let location = location.and_then(|location| location.to_str().ok());
    let location = location.map(str::to_owned);
    let created = response.into_inner();
    assert_eq!(*created.price, 249.5);
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/products/{}", *created.id).as_str())
    );
    let price = PriceInput::try_from("0.99").expect("a decimal string");
    let response = create(&app, product("Cable", None, price, 0)).await;
    let response = response.expect("201");
    assert_eq!(response.status(), 201);
    let cable = response.into_inner();
    assert_eq!(*cable.price, 0.99);
    assert!(cable.description.is_none(), "{cable:?}");
    let stored = app
        .sql(&format!(
            "SELECT price::text FROM products WHERE id = {}",
            *cable.id
        ))
        .await;
    assert_eq!(stored[0].get::<_, String>(0), "0.99");
}

#[tokio::test]
async fn broken_rules_are_422() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    let typed = [
        (product("x", None, (-1.0).into(), 1), "price"),
        (product("x", None, 1.999.into(), 1), "price"),
        (product("x", None, 100_000_000.0.into(), 1), "price"),
        (product("x", None, 1.0.into(), -1), "stock_quantity"),
    ];
    for (body, field) in typed {
        let shown = format!("{body:?}");
        match problem(create(&app, body).await, 422).await {
            ApiError::Validation(problem) => {
                assert_eq!(problem.errors[0].field, field, "{shown}: {problem:?}");
            }
            other => panic!("{shown}: expected 422, got {other:?}"),
        }
    }
    // Raw JSON: the client's types hold none of these (no string price
    // outside its pattern, no stock outside i32 or with a fraction, no
    // empty or missing name, no missing price, no unknown field, no
    // description above 2000 characters).
    let cases = [
        (
            json!({"name": "x", "price": "ten", "stock_quantity": 1}),
            "price",
        ),
        (
            json!({"name": "x", "price": 1, "stock_quantity": 3_000_000_000_i64}),
            "stock_quantity",
        ),
        (
            json!({"name": "x", "price": 1, "stock_quantity": 1.5}),
            "stock_quantity",
        ),
        (
            json!({"name": "x", "price": "1_0", "stock_quantity": 1}),
            "price",
        ),
        (json!({"name": "", "price": 1, "stock_quantity": 1}), "name"),
        (json!({"price": 1, "stock_quantity": 1}), "name"),
        (json!({"name": "x", "stock_quantity": 1}), "price"),
        (
            json!({"name": "x", "price": 1, "stock_quantity": 1, "sku": "A"}),
            "sku",
        ),
        (
            json!({"name": "x", "description": "d".repeat(2001), "price": 1, "stock_quantity": 1}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let problem = app.post("/api/products", &body).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 3);
}

#[tokio::test]
async fn a_whole_float_is_an_integer() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    // Raw JSON: the client writes the stock as an integer.
    let product = app
        .post(
            "/api/products",
            &json!({"name": "x", "price": 1, "stock_quantity": 7.0}),
        )
        .await
        .assert_status(201)
        .json();
    assert_eq!(product["stock_quantity"], 7);
}

/// Each of these used to be rounded by a binary float before any rule saw
/// it, and stored as a different amount.
#[tokio::test]
async fn amounts_a_float_would_round_are_422_not_rounded() {
    let app = TestApp::start(&[products_create::FUNCTION]).await;
    // Raw bytes: the point is the number as written, which no typed value keeps.
    for price in ["19.999999999999999", "1e-400", "99999999.99000001", "0.001"] {
        let body = format!(r#"{{"name": "x", "price": {price}, "stock_quantity": 1}}"#);
        let problem = app
            .request(
                http::Method::POST,
                "/api/products",
                &[("content-type", "application/json")],
                Some(body.into_bytes()),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "price", "{price}: {problem}");
    }
    let body = br#"{"name": "x", "price": 1, "stock_quantity": 2.9999999999999999}"#;
    let problem = app
        .request(
            http::Method::POST,
            "/api/products",
            &[("content-type", "application/json")],
            Some(body.to_vec()),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "stock_quantity");
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 3);
    // Exponents and trailing zeros that are exact stay fine.
    let product = app
        .request(
            http::Method::POST,
            "/api/products",
            &[("content-type", "application/json")],
            Some(br#"{"name": "x", "price": 1.50e1, "stock_quantity": 2.000}"#.to_vec()),
        )
        .await
        .assert_status(201)
        .json();
    assert_eq!(
        (
            product["price"].as_f64(),
            product["stock_quantity"].as_i64()
        ),
        (Some(15.0), Some(2))
    );
}
