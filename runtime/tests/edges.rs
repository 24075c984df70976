//! The edges of the HTTP conventions a hostile or careless client finds:
//! conditions on writes, headers sent as several lines, encodings in both
//! directions, and the bounds of a query string. Each answer is the one
//! RFC 9110 names, never a 500 and never a silent acceptance.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the point is HTTP-level detail (header syntax, encodings, query-string
//! bounds) that a typed client normalises away.

use http::Method;
use runtime::registry::FUNCTIONS;
use test_support::{json, TestApp, TestResponse};

async fn product(app: &TestApp) -> (i64, String) {
    let created = test_support::create_product(app).await;
    let tag = created.header("etag").expect("an ETag").to_owned();
    (created.json()["id"].as_i64().expect("an id"), tag)
}

async fn patch_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let body = br#"{"stock_quantity": 9}"#.to_vec();
    app.request(Method::PATCH, path, &all, Some(body)).await
}

#[tokio::test]
async fn a_tag_naming_an_instant_the_database_cannot_hold_is_412_not_500() {
    let app = TestApp::start(FUNCTIONS).await;
    let (id, _) = product(&app).await;
    let user = app
        .post(
            "/api/users",
            &json!({"username": "far", "email": "far@example.com"}),
        )
        .await;
    let user_id = user.json()["id"].as_i64().expect("an id");
    for tag in ["\"{id}-c000000000000000\"", "\"{id}-8000000000000000\""] {
        let product_tag = tag.replace("{id}", &id.to_string());
        let path = format!("/api/products/{id}");
        patch_with(&app, &path, &[("if-match", &product_tag)])
            .await
            .problem(412);
        let headers = [("if-match", product_tag.as_str())];
        let deleted = app.request(Method::DELETE, &path, &headers, None).await;
        deleted.problem(412);
        let user_tag = tag.replace("{id}", &user_id.to_string());
        let headers = [("if-match", user_tag.as_str())];
        let path = format!("/api/users/{user_id}");
        app.request(Method::DELETE, &path, &headers, None)
            .await
            .problem(412);
    }
    assert_eq!(app.stock(id).await, 10, "nothing was written");
}

#[tokio::test]
async fn if_none_match_on_a_write_is_a_precondition_too() {
    let app = TestApp::start(FUNCTIONS).await;
    let (id, tag) = product(&app).await;
    let path = format!("/api/products/{id}");
    // `*`: only if there is no current version; there is one.
    let refused = patch_with(&app, &path, &[("if-none-match", "*")]).await;
    refused.problem(412);
    assert_eq!(refused.header("etag"), Some(tag.as_str()));
    // The current tag: the client means "unless it is still this".
    patch_with(&app, &path, &[("if-none-match", &tag)])
        .await
        .problem(412);
    let put = app
        .request(
            Method::PUT,
            &path,
            &[
                ("content-type", "application/json"),
                ("if-none-match", &tag),
            ],
            Some(br#"{"stock_quantity": 8}"#.to_vec()),
        )
        .await;
    put.problem(412);
    assert_eq!(app.stock(id).await, 10, "nothing was written");
    // Another tag: the condition holds and the write goes through.
    patch_with(&app, &path, &[("if-none-match", &format!("\"{id}-1\""))])
        .await
        .assert_status(200);
    assert_eq!(app.stock(id).await, 9);
    // An order's status, checked on the locked row.
    let order = app
        .post(
            "/api/orders",
            &json!({"user_id": 1, "items": [{"product_id": id, "quantity": 1}]}),
        )
        .await;
    order.assert_status(201);
    let order_path = format!("/api/orders/{}", order.json()["id"]);
    let order_tag = order.header("etag").expect("an ETag").to_owned();
    let body = br#"{"status": "confirmed"}"#.to_vec();
    let headers = [
        ("content-type", "application/json"),
        ("if-none-match", order_tag.as_str()),
    ];
    let answer = app
        .request(Method::PATCH, &order_path, &headers, Some(body))
        .await;
    answer.problem(412);
}

#[tokio::test]
async fn a_header_sent_as_several_lines_counts_every_line() {
    let app = TestApp::start(FUNCTIONS).await;
    let (id, tag) = product(&app).await;
    let path = format!("/api/products/{id}");
    let split = [
        ("if-none-match", "\"nothing-like-it\""),
        ("if-none-match", tag.as_str()),
    ];
    app.request(Method::GET, &path, &split, None)
        .await
        .assert_status(304);
    // `gzip` on the first line, refused on the second: not compressed.
    let page = "/api/products?limit=100";
    for _ in 0..30 {
        product(&app).await;
    }
    let lines = [("accept-encoding", "gzip"), ("accept-encoding", "gzip;q=0")];
    let answer = app.request(Method::GET, page, &lines, None).await;
    answer.assert_status(200);
    assert_eq!(answer.header("content-encoding"), None);
    // And `br` on a second line is seen.
    let lines = [("accept-encoding", "identity"), ("accept-encoding", "br")];
    let answer = app.request(Method::GET, page, &lines, None).await;
    assert_eq!(answer.header("content-encoding"), Some("br"));
}

#[tokio::test]
async fn every_encoding_has_its_own_tag_and_304_and_head_say_what_get_says() {
    let app = TestApp::start(FUNCTIONS).await;
    // An order of many lines: a single resource over 1 KiB, with an ETag.
    let products = app
        .sql(
            "INSERT INTO products (name, price, stock_quantity)
              SELECT 'p' || g, 1, 100 FROM generate_series(1, 40) g RETURNING id",
        )
        .await;
    let items: Vec<_> = products
        .iter()
        .map(|row| json!({"product_id": row.get::<_, i64>(0), "quantity": 1}))
        .collect();
    let order = app
        .post("/api/orders", &json!({"user_id": 1, "items": items}))
        .await;
    order.assert_status(201);
    let path = format!("/api/orders/{}", order.json()["id"]);

    let plain = app.request(Method::GET, &path, &[], None).await;
    assert!(plain.body.len() >= 1024, "{} bytes", plain.body.len());
    let br_headers = [("accept-encoding", "br")];
    let br = app.request(Method::GET, &path, &br_headers, None).await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    let (plain_tag, br_tag) = (plain.header("etag"), br.header("etag"));
    assert_ne!(plain_tag, br_tag, "two encodings, two strong tags");
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));

    // The 304 for the brotli tag carries that tag and the Vary.
    let br_tag = br_tag.expect("an ETag").to_owned();
    let held = [
        ("accept-encoding", "br"),
        ("if-none-match", br_tag.as_str()),
    ];
    let not_modified = app.request(Method::GET, &path, &held, None).await;
    not_modified.assert_status(304);
    assert_eq!(not_modified.header("etag"), Some(br_tag.as_str()));
    assert_eq!(not_modified.header("vary"), Some("Accept-Encoding"));

    // HEAD says what the GET it stands for says.
    let head = app.request(Method::HEAD, &path, &br_headers, None).await;
    for name in ["content-length", "content-encoding", "etag", "vary"] {
        assert_eq!(head.header(name), br.header(name), "{name}");
    }
    assert_eq!(
        br.header("content-length").and_then(|l| l.parse().ok()),
        Some(br.body.len())
    );

    // A conditional write with the brotli tag names the same version.
    let confirm = br#"{"status": "confirmed"}"#.to_vec();
    let headers = [
        ("content-type", "application/json"),
        ("if-match", br_tag.as_str()),
    ];
    app.request(Method::PATCH, &path, &headers, Some(confirm))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_body_in_an_encoding_the_server_does_not_decode_is_415() {
    let app = TestApp::start(FUNCTIONS).await;
    let body = br#"{"username": "zip", "email": "zip@example.com"}"#.to_vec();
    for encoding in ["gzip", "br, gzip", "x-custom"] {
        let headers = [
            ("content-type", "application/json"),
            ("content-encoding", encoding),
        ];
        let answer = app
            .request(Method::POST, "/api/users", &headers, Some(body.clone()))
            .await;
        let problem = answer.problem(415);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("Content-Encoding"),
            "{problem}"
        );
        assert_eq!(answer.header("accept-encoding"), Some("identity"));
    }
    let identity = [
        ("content-type", "application/json"),
        ("content-encoding", "identity"),
    ];
    app.request(Method::POST, "/api/users", &identity, Some(body))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_query_string_has_bounds_and_parsing_is_linear() {
    let app = TestApp::start(FUNCTIONS).await;
    // 64,000 bytes of distinct empty keys: refused at once, by its length.
    let long: String = (0..12_000).map(|i| format!("{i}&")).collect();
    let answer = app.get(&format!("/api/products?{long}")).await;
    let problem = answer.problem(414);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("4096"),
        "{problem}"
    );
    // Under the length bound, too many parameters: 400 naming the bound.
    let many: String = (0..65).map(|i| format!("k{i}=&")).collect();
    let problem = app.get(&format!("/api/users?{many}")).await.problem(400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("more than 64 parameters"),
        "{problem}"
    );
    // A sign is refused however it is written.
    for limit in ["%2B5", "+5", "%205"] {
        app.get(&format!("/api/users?limit={limit}"))
            .await
            .problem(400);
    }
}

#[tokio::test]
async fn with_cors_on_the_metrics_path_answers_a_preflight_and_vary_says_origin_once() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.cors = host::cors::Cors::parse("https://shop.example").ok();
    })
    .await;
    let preflight = [
        ("origin", "https://shop.example"),
        ("access-control-request-method", "GET"),
    ];
    let answer = app
        .request(Method::OPTIONS, "/metrics", &preflight, None)
        .await;
    answer.assert_status(204);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
    let answer = app
        .request(Method::OPTIONS, "/api/products/1", &preflight, None)
        .await;
    answer.assert_status(204);
    let origins = answer
        .headers
        .get_all("vary")
        .iter()
        .filter(|vary| vary.to_str().unwrap_or_default().contains("Origin"))
        .count();
    assert_eq!(origins, 1, "{:?}", answer.headers);
}
