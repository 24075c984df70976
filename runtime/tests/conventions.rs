//! The HTTP conventions API clients expect, end to end over real HTTP: the
//! OpenAPI document served, and entity tags with 304 and 412. CORS and
//! compression have files of their own.

use http::Method;
use runtime::registry::FUNCTIONS;
use test_support::{etag, json, product, TestApp};

/// A JSON body's headers with `If-Match: tag`.
fn if_match(tag: &str) -> [(&str, &str); 2] {
    [("content-type", "application/json"), ("if-match", tag)]
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
