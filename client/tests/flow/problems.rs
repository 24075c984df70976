//! The typed problems a caller reads fields from: a 422's field errors, a
//! 409's field (a taken email), a 429's `Retry-After`.

use std::time::Duration;

use shop_client::{types, ApiError};

use crate::{new_user, refused, start};

#[tokio::test]
async fn a_422_is_a_validation_problem_that_names_the_field() {
    let (_app, client) = start().await;
    // The client checks what it can (the email's length) before sending;
    // the server checks the rest.
    let bad = serde_json::json!({"username": "rust-bad", "email": "not-an-email"});
    let body: types::NewUser = serde_json::from_value(bad).expect("the client's own checks pass");
    match refused(client.users_create().body(body).send().await).await {
        ApiError::Validation(problem) => {
            let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["email"]);
            assert_eq!(problem.status, 422);
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn a_taken_email_is_a_409_that_names_the_field() {
    let (_app, client) = start().await;
    new_user(&client, "rust-first").await;
    let again = types::NewUser::builder()
        .username("rust-second")
        .email("rust-first@example.com");
    match refused(client.users_create().body(again).send().await).await {
        ApiError::Conflict(problem) => {
            let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["email"]);
        }
        other => panic!("expected 409, got {other:?}"),
    }
}

#[tokio::test]
async fn over_the_rate_limit_is_a_429_with_retry_after() {
    let (_app, client) = start().await;
    let mut answer = client.health().send().await;
    for _ in 0..20 {
        if answer.is_err() {
            break;
        }
        answer = client.health().send().await;
    }
    match refused(answer).await {
        ApiError::TooManyRequests {
            problem,
            retry_after,
        } => {
            assert_eq!(problem.title, "Too Many Requests");
            // 5 a minute: the next one is free within the minute.
            let retry_after = retry_after.expect("a Retry-After in seconds");
            assert!(retry_after <= Duration::from_secs(60), "{retry_after:?}");
        }
        other => panic!("expected 429, got {other:?}"),
    }
}
