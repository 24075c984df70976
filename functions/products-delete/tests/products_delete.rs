use test_support::TestApp;

#[tokio::test]
async fn deletes_a_product_no_order_refers_to() {
    let app = TestApp::start(&[products_delete::FUNCTION]).await;
    app.delete("/api/products/2").await.assert_status(204);
    assert_eq!(
        app.scalar("SELECT count(*) FROM products WHERE id = 2")
            .await,
        0
    );
    app.delete("/api/products/2").await.problem(404);
}

#[tokio::test]
async fn a_product_in_orders_is_409_and_kept() {
    let app = TestApp::start(&[products_delete::FUNCTION]).await;
    app.delete("/api/products/1").await.problem(409);
    assert_eq!(
        app.scalar("SELECT count(*) FROM products WHERE id = 1")
            .await,
        1
    );
}
