//! CORS end to end over real HTTP: preflights answered for the allowed
//! origins only, the headers a page may send and read, and nothing at all
//! when CORS is not set.

use http::Method;
use runtime::registry::FUNCTIONS;
use test_support::{product, TestApp};

const ORIGIN: &str = "https://shop.example";

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
