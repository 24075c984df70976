//! GET /db-check through the typed client (`shop-client`).

use test_support::shop_client::{ApiError, Typed};
use test_support::{problem, TestApp};

/// The status of GET /db-check's answer.
async fn ready(app: &TestApp) -> u16 {
    match app.client().db_check().send().await.typed().await {
        Ok(answer) => answer.status().as_u16(),
        Err(error) => error.status().map_or(0, |status| status.as_u16()),
    }
}

#[tokio::test]
async fn connected_database_is_ready() {
    let app = TestApp::start(&[db_check::FUNCTION]).await;
    let response = app.client().db_check().send().await.expect("200");
    assert_eq!(response.status(), 200);
    // `DbCheck` refuses unknown fields, so these two are the whole body.
    let body = response.into_inner();
    assert_eq!(
        (body.status.to_string(), body.database.to_string()),
        ("success".to_owned(), "connected".to_owned())
    );
}

#[tokio::test]
async fn unreachable_database_is_503_and_readiness_comes_back_by_itself() {
    let app = TestApp::start_with(&[db_check::FUNCTION], |s| {
        s.pool_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    assert_eq!(ready(&app).await, 200);

    // Refuse new sessions to the test database and end the open ones: to
    // the service, the database is gone.
    let name = app.database_name();
    let admin = app.admin().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    match problem(app.client().db_check().send().await, 503).await {
        ApiError::Problem { problem, .. } => {
            assert!(problem.detail.contains("unreachable"), "{problem:?}");
        }
        other => panic!("expected 503, got {other:?}"),
    }

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = ready(&app).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "readiness did not recover");
}
