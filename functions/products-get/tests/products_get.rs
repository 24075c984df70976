//! GET /api/products/{id}. Requests built by hand, not through the typed
//! client (`shop-client`): the point is money's exact JSON form on the wire
//! (`0.1`, not `0.10`), which a typed client's number hides, and malformed
//! ids it cannot send.

use test_support::TestApp;

#[tokio::test]
async fn gets_one_product_with_exact_money() {
    let app = TestApp::start(&[products_get::FUNCTION]).await;
    app.sql("UPDATE products SET price = 0.10 WHERE id = 2")
        .await;
    let laptop = app.get("/api/products/1").await.assert_status(200).json();
    assert_eq!(laptop["price"], 1299.99);
    assert_eq!(laptop["name"], "Laptop");
    let mouse = app.get("/api/products/2").await;
    assert!(String::from_utf8_lossy(&mouse.body).contains("\"price\":0.1,"));
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::start(&[products_get::FUNCTION]).await;
    app.get("/api/products/404").await.problem(404);
    app.get("/api/products/-3").await.problem(400);
}
