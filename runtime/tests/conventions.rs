//! The HTTP conventions API clients expect, end to end over real HTTP: the
//! OpenAPI document served, entity tags with 304 and 412, CORS preflights
//! and compression.

use std::io::Read;

use http::Method;
use runtime::registry::FUNCTIONS;
use test_support::{json, TestApp, TestResponse};

const ORIGIN: &str = "https://shop.example";

async fn product(app: &TestApp) -> i64 {
    let created = app
        .post(
            "/api/products",
            &json!({"name": "Lamp", "price": 12.5, "stock_quantity": 10}),
        )
        .await;
    created.assert_status(201);
    created.json()["id"].as_i64().unwrap()
}

/// A JSON body's headers with `If-Match: tag`.
fn if_match(tag: &str) -> [(&str, &str); 2] {
    [("content-type", "application/json"), ("if-match", tag)]
}

fn etag(response: &TestResponse) -> String {
    assert!(
        response.headers.get_all("etag").iter().count() <= 1,
        "one ETag at most"
    );
    response
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag on {}: {}", response.status, response.text()))
        .to_owned()
}

#[tokio::test]
async fn the_openapi_document_is_served_from_the_binary_as_committed() {
    let app = TestApp::start(FUNCTIONS).await;
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .expect("openapi.yaml at the repository root");

    let yaml = app.get("/openapi.yaml").await;
    yaml.assert_status(200);
    assert_eq!(yaml.header("content-type"), Some("application/yaml"));
    assert_eq!(yaml.text(), committed);

    let as_json = app.get("/openapi.json").await;
    as_json.assert_status(200);
    assert_eq!(as_json.header("content-type"), Some("application/json"));
    let expected: serde_json::Value = serde_norway::from_str(&committed).unwrap();
    assert_eq!(as_json.json(), expected);
    assert!(as_json.json()["paths"]["/openapi.json"]["get"].is_object());
    assert!(as_json.json()["paths"]["/openapi.yaml"]["get"].is_object());

    // A client that has it already is told so.
    let tag = etag(&as_json);
    let again = app
        .request(
            Method::GET,
            "/openapi.json",
            &[("if-none-match", &tag)],
            None,
        )
        .await;
    again.assert_status(304);
    assert!(again.body.is_empty());

    let index = app.get("/").await;
    assert_eq!(index.json()["openapi"]["json"], "/openapi.json");
    assert_eq!(index.json()["openapi"]["yaml"], "/openapi.yaml");
    let link = index.header("link").unwrap();
    assert!(
        link.contains("</openapi.json>; rel=\"service-desc\""),
        "{link}"
    );
}

#[tokio::test]
async fn a_get_with_the_current_etag_is_304_without_a_body() {
    let app = TestApp::start(FUNCTIONS).await;
    let id = product(&app).await;
    let path = format!("/api/products/{id}");
    let first = app.get(&path).await;
    first.assert_status(200);
    let tag = etag(&first);
    assert!(tag.starts_with(&format!("\"{id}-")), "{tag}");

    for method in [Method::GET, Method::HEAD] {
        let cached = app
            .request(method.clone(), &path, &[("if-none-match", &tag)], None)
            .await;
        cached.assert_status(304);
        assert!(cached.body.is_empty(), "{method}");
        assert_eq!(etag(&cached), tag);
        assert!(cached.header("content-type").is_none());
    }
    // Weak comparison, and a list.
    let weak = format!("\"other\", W/{tag}");
    app.request(Method::GET, &path, &[("if-none-match", &weak)], None)
        .await
        .assert_status(304);

    // A change makes a new tag; the old one gets the new body.
    let changed = app.patch(&path, &json!({"stock_quantity": 3})).await;
    changed.assert_status(200);
    assert_ne!(etag(&changed), tag);
    let fresh = app
        .request(Method::GET, &path, &[("if-none-match", &tag)], None)
        .await;
    fresh.assert_status(200);
    assert_eq!(fresh.json()["stock_quantity"], 3);
    assert_eq!(etag(&fresh), etag(&changed));

    // Users and orders carry tags too.
    let user = app
        .post(
            "/api/users",
            &json!({"username": "ann", "email": "ann@example.com"}),
        )
        .await;
    let user_id = user.json()["id"].as_i64().unwrap();
    assert_eq!(
        etag(&user),
        etag(&app.get(&format!("/api/users/{user_id}")).await)
    );
    let order = app
        .post(
            "/api/orders",
            &json!({"user_id": user_id, "items": [{"product_id": id, "quantity": 1}]}),
        )
        .await;
    order.assert_status(201);
    let order_path = format!("/api/orders/{}", order.json()["id"]);
    let order_tag = etag(&app.get(&order_path).await);
    assert_eq!(order_tag, etag(&order));
    app.request(
        Method::GET,
        &order_path,
        &[("if-none-match", &order_tag)],
        None,
    )
    .await
    .assert_status(304);
}

#[tokio::test]
async fn a_write_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::start(FUNCTIONS).await;
    let id = product(&app).await;
    let path = format!("/api/products/{id}");
    let tag = etag(&app.get(&path).await);

    let body = serde_json::to_vec(&json!({"stock_quantity": 7})).unwrap();
    let first = app
        .request(Method::PATCH, &path, &if_match(&tag), Some(body.clone()))
        .await;
    first.assert_status(200);
    let current = etag(&first);

    // The second client still holds the first version.
    let stale = app
        .request(
            Method::PATCH,
            &path,
            &if_match(&tag),
            Some(serde_json::to_vec(&json!({"stock_quantity": 99})).unwrap()),
        )
        .await;
    let problem = stale.problem(412);
    assert!(problem["detail"].as_str().unwrap().contains("changed"));
    assert_eq!(etag(&stale), current, "the 412 names the current version");
    assert_eq!(app.stock(id).await, 7);

    // `*` needs only that the row exists; no If-Match proceeds as before.
    app.request(Method::PUT, &path, &if_match("*"), Some(body.clone()))
        .await
        .assert_status(200);
    app.patch(&path, &json!({"name": "Lamp 2"}))
        .await
        .assert_status(200);

    // Malformed is 400; a missing row is 404 whatever the tag.
    app.request(
        Method::PATCH,
        &path,
        &if_match("no-quotes"),
        Some(body.clone()),
    )
    .await
    .problem(400);
    app.request(
        Method::PATCH,
        "/api/products/999999",
        &if_match(&current),
        Some(body.clone()),
    )
    .await
    .problem(404);

    // DELETE: stale is 412 and the row stays; current deletes.
    app.request(Method::DELETE, &path, &[("if-match", &current)], None)
        .await
        .problem(412);
    let now = etag(&app.get(&path).await);
    app.request(Method::DELETE, &path, &[("if-match", &now)], None)
        .await
        .assert_status(204);
    app.get(&path).await.problem(404);

    // Users: the same rule.
    let user = app
        .post(
            "/api/users",
            &json!({"username": "bo", "email": "bo@example.com"}),
        )
        .await;
    let user_path = format!("/api/users/{}", user.json()["id"]);
    let user_tag = etag(&user);
    app.patch(&user_path, &json!({"username": "bob"}))
        .await
        .assert_status(200);
    let rename = serde_json::to_vec(&json!({"username": "robert"})).unwrap();
    app.request(
        Method::PATCH,
        &user_path,
        &if_match(&user_tag),
        Some(rename),
    )
    .await
    .problem(412);
    app.request(Method::DELETE, &user_path, &[("if-match", &user_tag)], None)
        .await
        .problem(412);
    assert_eq!(app.get(&user_path).await.json()["username"], "bob");
}

#[tokio::test]
async fn of_two_writers_holding_one_version_exactly_one_wins() {
    let app = TestApp::start(FUNCTIONS).await;
    let id = product(&app).await;
    let path = format!("/api/products/{id}");
    for round in 0..10 {
        let tag = etag(&app.get(&path).await);
        let write = |stock: i64| {
            let body = serde_json::to_vec(&json!({"stock_quantity": stock})).unwrap();
            let tag = tag.clone();
            let path = path.clone();
            let app = &app;
            async move {
                app.request(
                    Method::PATCH,
                    &path,
                    &[("content-type", "application/json"), ("if-match", &tag)],
                    Some(body),
                )
                .await
                .status
                .as_u16()
            }
        };
        let (a, b) = tokio::join!(write(100 + round), write(200 + round));
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
        let stock = app.stock(id).await;
        let winner = if a == 200 { 100 + round } else { 200 + round };
        assert_eq!(stock, winner, "round {round}: the winner's write stands");
    }
}

#[tokio::test]
async fn cors_preflights_are_answered_for_allowed_origins_only() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.cors = Some(host::cors::Cors::parse(ORIGIN).unwrap());
    })
    .await;
    let id = product(&app).await;
    let path = format!("/api/products/{id}");
    let preflight = app
        .request(
            Method::OPTIONS,
            &path,
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "if-match, content-type"),
            ],
            None,
        )
        .await;
    preflight.assert_status(204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, HEAD, PUT, PATCH, DELETE")
    );
    let allowed_headers = preflight.header("access-control-allow-headers").unwrap();
    for header in [
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "If-Match",
        "If-None-Match",
        "X-Request-Id",
    ] {
        assert!(
            allowed_headers.contains(header),
            "{header} in {allowed_headers}"
        );
    }
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(preflight.header("vary").unwrap().contains("Origin"));

    // Another origin is told nothing; an unknown path is 404.
    let foreign = app
        .request(
            Method::OPTIONS,
            &path,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "DELETE"),
            ],
            None,
        )
        .await;
    assert!(foreign.header("access-control-allow-origin").is_none());
    app.request(Method::OPTIONS, "/api/nothing", &[("origin", ORIGIN)], None)
        .await
        .problem(404);

    // The actual request: the origin, and the headers a page may read.
    let get = app
        .request(Method::GET, &path, &[("origin", ORIGIN)], None)
        .await;
    get.assert_status(200);
    assert_eq!(get.header("access-control-allow-origin"), Some(ORIGIN));
    let exposed = get.header("access-control-expose-headers").unwrap();
    for header in ["Link", "ETag", "Location", "Retry-After", "X-Request-Id"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
    assert!(get.header("vary").unwrap().contains("Origin"));
}

#[tokio::test]
async fn cors_with_any_origin_never_allows_credentials_and_unset_sends_nothing() {
    let any = TestApp::start_with(FUNCTIONS, |settings| {
        settings.cors = Some(host::cors::Cors::AnyOrigin);
    })
    .await;
    let get = any
        .request(Method::GET, "/health", &[("origin", ORIGIN)], None)
        .await;
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    assert!(get.header("access-control-allow-credentials").is_none());

    let none = TestApp::start(FUNCTIONS).await;
    let get = none
        .request(Method::GET, "/health", &[("origin", ORIGIN)], None)
        .await;
    assert!(get
        .headers
        .keys()
        .all(|name| !name.as_str().starts_with("access-control-")));
    none.request(
        Method::OPTIONS,
        "/health",
        &[("origin", ORIGIN), ("access-control-request-method", "GET")],
        None,
    )
    .await
    .problem(405);
}

#[tokio::test]
async fn large_bodies_are_compressed_as_the_client_allows() {
    let app = TestApp::start(FUNCTIONS).await;
    for _ in 0..20 {
        product(&app).await;
    }
    let plain = app.get("/api/products?limit=20").await;
    plain.assert_status(200);
    assert!(plain.body.len() >= 1024);
    assert!(plain.header("content-encoding").is_none());
    assert!(plain.header("vary").unwrap().contains("Accept-Encoding"));

    let gzip = app
        .request(
            Method::GET,
            "/api/products?limit=20",
            &[("accept-encoding", "gzip")],
            None,
        )
        .await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert!(gzip.header("vary").unwrap().contains("Accept-Encoding"));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.body);
    assert!(gzip.body.len() < plain.body.len() / 2);

    let br = app
        .request(
            Method::GET,
            "/api/products?limit=20",
            &[("accept-encoding", "gzip, deflate, br")],
            None,
        )
        .await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &br.body[..], &mut decoded).unwrap();
    assert_eq!(decoded, plain.body);

    // Never: small bodies, small problems, HEAD, 304.
    let small = app
        .request(Method::GET, "/health", &[("accept-encoding", "gzip")], None)
        .await;
    assert!(small.header("content-encoding").is_none());
    let problem = app
        .request(
            Method::GET,
            "/api/products/0",
            &[("accept-encoding", "gzip")],
            None,
        )
        .await;
    problem.problem(400);
    assert!(problem.header("content-encoding").is_none());
    let head = app
        .request(
            Method::HEAD,
            "/api/products?limit=20",
            &[("accept-encoding", "gzip")],
            None,
        )
        .await;
    head.assert_status(200);
    // HEAD is the GET it stands for, headers and length alike; hyper sends
    // no body.
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert!(head.body.is_empty());
    // A tag names one encoding's bytes: the identity tag is no hit for a
    // client that now takes gzip (it gets the gzip bytes and their tag),
    // and the gzip tag is.
    let spec = app.get("/openapi.json").await;
    let tag = etag(&spec);
    let gzip = [("accept-encoding", "gzip"), ("if-none-match", tag.as_str())];
    let other_bytes = app.request(Method::GET, "/openapi.json", &gzip, None).await;
    other_bytes.assert_status(200);
    assert_eq!(other_bytes.header("content-encoding"), Some("gzip"));
    let gzip_tag = etag(&other_bytes);
    let held = [
        ("accept-encoding", "gzip"),
        ("if-none-match", gzip_tag.as_str()),
    ];
    let not_modified = app.request(Method::GET, "/openapi.json", &held, None).await;
    not_modified.assert_status(304);
    assert!(not_modified.header("content-encoding").is_none());
    assert_eq!(not_modified.header("etag"), Some(gzip_tag.as_str()));
}
