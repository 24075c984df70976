//! POST /api/users. Creations, conflicts and the server's own email rule go
//! through the typed client (`shop-client`), as an integrator's code would
//! send them; bodies the typed client cannot build, and bodies that are not
//! JSON at all, stay raw requests, since their point is what the server
//! makes of a broken request.

use test_support::shop_client::types::{NewUser, User};
use test_support::shop_client::{ApiError, ResponseValue, Typed};
use test_support::{json, TestApp};

async fn app() -> TestApp {
    TestApp::start(&[users_create::FUNCTION]).await
}

/// POST /api/users through the typed client.
async fn create(
    app: &TestApp,
    username: &str,
    email: &str,
) -> Result<ResponseValue<User>, ApiError> {
    let body = NewUser::builder().username(username).email(email);
    app.client()
        .users_create()
        .body(body)
        .send()
        .await
        .typed()
        .await
}

/// The field a 409 names.
#[track_caller]
fn conflicting_field(answer: Result<ResponseValue<User>, ApiError>) -> String {
    match answer {
        Err(ApiError::Conflict(problem)) => problem.errors[0].field.clone(),
        other => panic!("expected 409, got {other:?}"),
    }
}

#[tokio::test]
async fn creates_a_user_with_location() {
    let app = app().await;
    let created = create(&app, "alice", "alice@example.com")
        .await
        .expect("201");
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.username.as_str(), "alice");
    let location = created.headers().get("location").map(|l| l.to_str().ok());
    assert_eq!(
        location,
        Some(Some(format!("/api/users/{}", created.id.get()).as_str()))
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
    let taken = create(&app, "john_doe", "new@example.com").await;
    assert_eq!(conflicting_field(taken), "username");
    let taken = create(&app, "new", "john@example.com").await;
    assert_eq!(conflicting_field(taken), "email");
}

#[tokio::test]
async fn bodies_that_break_the_rules_are_422() {
    // Raw: none of these bodies can be built with the typed client.
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
    // Raw: the body's bytes and media type are what is tested.
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
    let created = create(&app, username, email).await.expect("201");
    assert_eq!(created.username.as_str(), username);
    let rows = app
        .sql(&format!(
            "SELECT username, email FROM users WHERE id = {}",
            created.id.get()
        ))
        .await;
    assert_eq!(rows[0].get::<_, String>(0), username);
    assert_eq!(rows[0].get::<_, String>(1), email);
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 4);
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_case() {
    let app = app().await;
    let taken = create(&app, "johnny", "John@EXAMPLE.com").await;
    assert_eq!(conflicting_field(taken), "email");
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);
}

#[tokio::test]
async fn only_plausible_addresses_are_emails() {
    // The typed client checks only an email's length; the server the rest.
    let app = app().await;
    for email in [
        "a@b@example.com",
        "\"quoted\"@example.com",
        "Name <name@example.com>",
        "<name@example.com>",
        "name@example",
        "name @example.com",
    ] {
        match create(&app, "someone", email).await {
            Err(ApiError::Validation(problem)) => {
                assert_eq!(problem.errors[0].field, "email", "{email}");
            }
            other => panic!("{email}: expected 422, got {other:?}"),
        }
    }
}
