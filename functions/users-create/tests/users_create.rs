use test_support::{json, TestApp};

async fn app() -> TestApp {
    TestApp::start(&[users_create::FUNCTION]).await
}

#[tokio::test]
async fn creates_a_user_with_location() {
    let app = app().await;
    let response = app
        .post(
            "/api/users",
            &json!({"username": "alice", "email": "alice@example.com"}),
        )
        .await;
    response.assert_status(201);
    let user = response.json();
    assert_eq!(user["username"], "alice");
    assert_eq!(
        response.header("location"),
        Some(format!("/api/users/{}", user["id"]).as_str())
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE username = 'alice'")
            .await,
        1
    );
}

#[tokio::test]
async fn taken_username_or_email_is_409_naming_the_field() {
    let app = app().await;
    let problem = app
        .post(
            "/api/users",
            &json!({"username": "john_doe", "email": "new@example.com"}),
        )
        .await
        .problem(409);
    assert_eq!(problem["errors"][0]["field"], "username");
    let problem = app
        .post(
            "/api/users",
            &json!({"username": "new", "email": "john@example.com"}),
        )
        .await
        .problem(409);
    assert_eq!(problem["errors"][0]["field"], "email");
}

#[tokio::test]
async fn bodies_that_break_the_rules_are_422() {
    let app = app().await;
    let cases = [
        (json!({"username": "a"}), "email"),
        (
            json!({"username": "a", "email": "a@example.com", "admin": true}),
            "admin",
        ),
        (json!({"username": 5, "email": "a@example.com"}), "username"),
        (
            json!({"username": "", "email": "a@example.com"}),
            "username",
        ),
        (
            json!({"username": "a".repeat(81), "email": "a@example.com"}),
            "username",
        ),
        (json!({"username": "a", "email": "not-an-email"}), "email"),
        (
            json!({"username": "a\u{0}b", "email": "a@example.com"}),
            "username",
        ),
        (json!(["username", "email"]), "body"),
    ];
    for (body, field) in cases {
        let problem = app.post("/api/users", &body).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);
}

#[tokio::test]
async fn non_json_bodies_are_400_or_415_or_413() {
    let app = app().await;
    let post = |headers: &'static [(&'static str, &'static str)], body: Vec<u8>| {
        app.request(http::Method::POST, "/api/users", headers, Some(body))
    };
    post(
        &[("content-type", "application/json")],
        b"{\"username\": ".to_vec(),
    )
    .await
    .problem(400);
    post(&[("content-type", "application/json")], Vec::new())
        .await
        .problem(400);
    post(
        &[("content-type", "application/x-www-form-urlencoded")],
        b"username=a".to_vec(),
    )
    .await
    .problem(415);
    post(&[], b"{}".to_vec()).await.problem(415);
    let huge = format!(
        "{{\"username\": \"{}\", \"email\": \"a@example.com\"}}",
        "a".repeat(70_000)
    );
    post(&[("content-type", "application/json")], huge.into_bytes())
        .await
        .problem(413);
}

#[tokio::test]
async fn hostile_input_is_stored_verbatim() {
    let app = app().await;
    let username = "Robert'); DROP TABLE users;-- <script>alert(1)</script> 🦀 \"quoted\" \\ %_";
    let email = "o'brien+tag@example.com";
    let created = app
        .post("/api/users", &json!({"username": username, "email": email}))
        .await
        .assert_status(201)
        .json();
    assert_eq!(created["username"], username);
    let rows = app
        .sql(&format!(
            "SELECT username, email FROM users WHERE id = {}",
            created["id"]
        ))
        .await;
    assert_eq!(rows[0].get::<_, String>(0), username);
    assert_eq!(rows[0].get::<_, String>(1), email);
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 4);
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_case() {
    let app = app().await;
    let problem = app
        .post(
            "/api/users",
            &json!({"username": "johnny", "email": "John@EXAMPLE.com"}),
        )
        .await
        .problem(409);
    assert_eq!(problem["errors"][0]["field"], "email");
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);
}

#[tokio::test]
async fn only_plausible_addresses_are_emails() {
    let app = app().await;
    for email in [
        "a@b@example.com",
        "\"quoted\"@example.com",
        "Name <name@example.com>",
        "<name@example.com>",
        "name@example",
        "name @example.com",
    ] {
        let problem = app
            .post(
                "/api/users",
                &json!({"username": "someone", "email": email}),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "email", "{email}");
    }
}
