//! Response compression end to end over real HTTP: gzip or brotli as the
//! client allows, never for small bodies, problems or a 304, and an entity
//! tag per encoding.

use std::io::Read;

use http::Method;
use runtime::registry::FUNCTIONS;
use test_support::{etag, product, TestApp};

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
