use test_support::{json, TestApp};

#[tokio::test]
async fn patch_changes_one_field_and_the_trigger_moves_updated_at() {
    let app = TestApp::start(&[users_update::FUNCTION]).await;
    let user = app
        .patch("/api/users/1", &json!({"username": "johnny"}))
        .await
        .assert_status(200)
        .json();
    assert_eq!(user["username"], "johnny");
    assert_eq!(user["email"], "john@example.com");
    assert!(user["updated_at"].as_str().unwrap() > user["created_at"].as_str().unwrap());
}

#[tokio::test]
async fn put_changes_username_and_or_email() {
    let app = TestApp::start(&[users_update::FUNCTION]).await;
    let user = app
        .put(
            "/api/users/2",
            &json!({"username": "jane", "email": "jane@example.org"}),
        )
        .await
        .assert_status(200)
        .json();
    assert_eq!(
        (user["username"].as_str(), user["email"].as_str()),
        (Some("jane"), Some("jane@example.org"))
    );
    let user = app
        .put("/api/users/2", &json!({"email": "j@example.org"}))
        .await
        .assert_status(200)
        .json();
    assert_eq!(user["username"], "jane");
}

#[tokio::test]
async fn empty_null_or_invalid_changes_are_422() {
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
    let problem = app
        .patch("/api/users/1", &json!({"email": "jane@example.com"}))
        .await
        .problem(409);
    assert_eq!(problem["errors"][0]["field"], "email");
    app.patch("/api/users/999", &json!({"username": "ghost"}))
        .await
        .problem(404);
    app.patch("/api/users/zero", &json!({"username": "ghost"}))
        .await
        .problem(400);
}
