use test_support::TestApp;

#[tokio::test]
async fn connected_database_is_ready() {
    let app = TestApp::start(&[db_check::FUNCTION]).await;
    let response = app.get("/db-check").await;
    response.assert_status(200);
    assert_eq!(
        response.json(),
        serde_json::json!({"status": "success", "database": "connected"})
    );
}

#[tokio::test]
async fn unreachable_database_is_503_and_readiness_comes_back_by_itself() {
    let app = TestApp::start_with(&[db_check::FUNCTION], |s| {
        s.pool_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    app.get("/db-check").await.assert_status(200);

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
    let problem = app.get("/db-check").await.problem(503);
    assert!(problem["detail"].as_str().unwrap().contains("unreachable"));

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/db-check").await.status.as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "readiness did not recover");
}
