//! GET /api/users/{id}, through the typed client (`shop-client`), whose
//! `User` refuses unknown fields and needs all five, so reading it proves
//! the answer's shape; ids the typed client cannot put in the path stay raw
//! requests.

use test_support::shop_client::ApiError;
use test_support::{id, refused, TestApp};

#[tokio::test]
async fn gets_one_user() {
    let app = TestApp::start(&[users_get::FUNCTION]).await;
    let user = app.client().users_get().id(id(2)).send().await;
    let user = user.expect("200 with exactly a User's five fields");
    assert_eq!(user.id.get(), 2);
    assert_eq!(user.username.as_str(), "jane_smith");
}

#[tokio::test]
async fn unknown_user_is_404() {
    let app = TestApp::start(&[users_get::FUNCTION]).await;
    match refused(app.client().users_get().id(id(999)).send().await).await {
        ApiError::Problem {
            status, problem, ..
        } => {
            assert_eq!(status, 404);
            assert_eq!(problem.detail, "user 999 not found");
        }
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn ids_that_are_not_positive_integers_are_400() {
    // Raw: none of these is an id the typed client can send.
    let app = TestApp::start(&[users_get::FUNCTION]).await;
    for id in ["0", "-1", "abc", "1.5", "99999999999999999999", "%2B1"] {
        app.get(&format!("/api/users/{id}")).await.problem(400);
    }
}
