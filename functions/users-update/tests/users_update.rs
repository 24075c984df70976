//! PUT and PATCH /api/users/{id}. The changes, conflicts and missing users
//! go through the typed client (`shop-client`), as an integrator's code
//! would send them; the bodies a typed client cannot build (empty, null,
//! unknown fields) and a malformed id in the path stay raw requests, since
//! their point is what the server makes of a broken request.

use test_support::shop_client::types::UserChanges;
use test_support::shop_client::{ApiError, Typed};
use test_support::{id, json, refused, TestApp};

fn changes(username: Option<&str>, email: Option<&str>) -> UserChanges {
    UserChanges {
        username: username.map(|name| name.try_into().expect("a valid username")),
        email: email.map(|email| email.try_into().expect("a valid email")),
    }
}

#[tokio::test]
async fn patch_changes_one_field_and_the_trigger_moves_updated_at() {
    let app = TestApp::start(&[users_update::FUNCTION]).await;
    let client = app.client();
    let user = client
        .users_update()
        .id(id(1))
        .body(changes(Some("johnny"), None))
        .send()
        .await
        .typed()
        .await
        .expect("200");
    assert_eq!(user.username.as_str(), "johnny");
    assert_eq!(user.email.as_str(), "john@example.com");
    assert!(*user.updated_at > *user.created_at);
}

#[tokio::test]
async fn put_changes_username_and_or_email() {
    let app = TestApp::start(&[users_update::FUNCTION]).await;
    let client = app.client();
    let put = |body: UserChanges| client.users_update_put().id(id(2)).body(body).send();
    let user = put(changes(Some("jane"), Some("jane@example.org")))
        .await
        .expect("200");
    assert_eq!(
        (user.username.as_str(), user.email.as_str()),
        ("jane", "jane@example.org")
    );
    let user = put(changes(None, Some("j@example.org")))
        .await
        .expect("200");
    assert_eq!(user.username.as_str(), "jane");
}

#[tokio::test]
async fn empty_null_or_invalid_changes_are_422() {
    // Raw: bodies the typed client will not build.
    let app = TestApp::start(&[users_update::FUNCTION]).await;
    for body in [
        json!({}),
        json!({"username": null}),
        json!({"email": "nope"}),
        json!({"id": 5}),
    ] {
        app.patch("/api/users/1", &body).await.problem(422);
    }
}

#[tokio::test]
async fn taken_values_are_409_and_unknown_users_404() {
    let app = TestApp::start(&[users_update::FUNCTION]).await;
    let client = app.client();
    let patch = |user: i64, body: UserChanges| client.users_update().id(id(user)).body(body).send();
    match refused(patch(1, changes(None, Some("jane@example.com"))).await).await {
        ApiError::Conflict(problem) => assert_eq!(problem.errors[0].field, "email"),
        other => panic!("expected 409, got {other:?}"),
    }
    let missing = refused(patch(999, changes(Some("ghost"), None)).await).await;
    assert_eq!(
        missing.status().map(|s| s.as_u16()),
        Some(404),
        "{missing:?}"
    );
    // Raw: an id the typed client cannot put in the path.
    app.patch("/api/users/zero", &json!({"username": "ghost"}))
        .await
        .problem(400);
}
