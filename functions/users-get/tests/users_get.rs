use test_support::TestApp;

#[tokio::test]
async fn gets_one_user() {
    let app = TestApp::start(&[users_get::FUNCTION]).await;
    let user = app.get("/api/users/2").await.assert_status(200).json();
    assert_eq!(user["id"], 2);
    assert_eq!(user["username"], "jane_smith");
    let keys: Vec<_> = user.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
}

#[tokio::test]
async fn unknown_user_is_404() {
    let app = TestApp::start(&[users_get::FUNCTION]).await;
    let problem = app.get("/api/users/999").await.problem(404);
    assert_eq!(problem["detail"], "user 999 not found");
}

#[tokio::test]
async fn ids_that_are_not_positive_integers_are_400() {
    let app = TestApp::start(&[users_get::FUNCTION]).await;
    for id in ["0", "-1", "abc", "1.5", "99999999999999999999", "%2B1"] {
        app.get(&format!("/api/users/{id}")).await.problem(400);
    }
}
