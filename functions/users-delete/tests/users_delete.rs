use test_support::TestApp;

#[tokio::test]
async fn deletes_a_user_without_orders() {
    let app = TestApp::start(&[users_delete::FUNCTION]).await;
    let response = app.delete("/api/users/3").await;
    response.assert_status(204);
    assert!(response.body.is_empty());
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id = 3").await,
        0
    );
    app.delete("/api/users/3").await.problem(404);
}

#[tokio::test]
async fn a_user_with_orders_is_409_and_kept() {
    let app = TestApp::start(&[users_delete::FUNCTION]).await;
    let problem = app.delete("/api/users/1").await.problem(409);
    assert!(problem["detail"].as_str().unwrap().contains("orders"));
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id = 1").await,
        1
    );
}
