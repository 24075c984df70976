//! DELETE /api/users/{id}. The refusals (404, 409 for a user with orders)
//! are read as typed problems through the typed client (`shop-client`); the
//! delete itself stays a raw request, since its point includes the empty
//! body of a 204, which a typed client does not show.

use test_support::shop_client::ApiError;
use test_support::{id, refused, TestApp};

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
    let again = refused(app.client().users_delete().id(id(3)).send().await).await;
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404), "{again:?}");
}

#[tokio::test]
async fn a_user_with_orders_is_409_and_kept() {
    let app = TestApp::start(&[users_delete::FUNCTION]).await;
    match refused(app.client().users_delete().id(id(1)).send().await).await {
        ApiError::Conflict(problem) => assert!(problem.detail.contains("orders")),
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id = 1").await,
        1
    );
}
