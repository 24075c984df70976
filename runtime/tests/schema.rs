//! `sql/` as the runtime applies it: once per file, an edited file refused,
//! and a migration that cannot apply to the data said clearly, whole or not
//! at all.

use runtime::registry::FUNCTIONS;
use test_support::{test_settings, TestApp};

async fn start_again(app: &TestApp) -> Result<host::Running, host::StartError> {
    host::start(test_settings(), &app.database_url, FUNCTIONS).await
}

#[tokio::test]
async fn a_file_edited_after_it_was_applied_stops_the_start() {
    let app = TestApp::start(FUNCTIONS).await;
    app.sql(
        "UPDATE schema_migrations SET checksum = '0000000000000000' WHERE name = '01-schema.sql'",
    )
    .await;
    let error = match start_again(&app).await {
        Ok(_) => panic!("a start over an edited file should fail"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("01-schema.sql"), "{error}");
    assert!(error.contains("new numbered file"), "{error}");
}

#[tokio::test]
async fn emails_that_differ_only_in_case_are_named_before_the_unique_index() {
    let app = TestApp::start(FUNCTIONS).await;
    // A database from before sql/03, holding two spellings of one address.
    app.sql("DROP INDEX users_email_lower_key").await;
    app.sql("DELETE FROM schema_migrations WHERE name = '03-email-unique-any-case.sql'")
        .await;
    app.sql("INSERT INTO users (username, email) VALUES ('john_again', 'JOHN@example.com')")
        .await;
    let error = match start_again(&app).await {
        Ok(_) => panic!("the migration should refuse colliding emails"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("03-email-unique-any-case.sql"), "{error}");
    assert!(error.contains("john@example.com (users 1, 4)"), "{error}");
    // Nothing of it was applied.
    assert_eq!(
        app.scalar("SELECT count(*) FROM schema_migrations WHERE name LIKE '03-%'")
            .await,
        0
    );

    // Once the operator merges them, the next start applies it.
    app.sql("DELETE FROM users WHERE username = 'john_again'")
        .await;
    let running = start_again(&app).await.expect("the start after the fix");
    running.shutdown().await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email_lower_key'")
            .await,
        1
    );
}

/// Through a transaction-mode pooler the schema can be checked but not
/// applied (no session lock, no CREATE INDEX CONCURRENTLY): with files to
/// apply, the start says to give a direct connection.
#[tokio::test]
async fn through_a_pooler_files_to_apply_need_a_direct_connection() {
    let app = TestApp::start(FUNCTIONS).await;
    app.sql("DELETE FROM schema_migrations WHERE name = '04-list-indexes.sql'")
        .await;
    let mut pooled = test_settings();
    pooled.db_statements = contract::db::Statements::Unnamed;
    let error = match host::start(pooled.clone(), &app.database_url, FUNCTIONS).await {
        Ok(_) => panic!("a start through a pooler should not apply sql/"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("04-list-indexes.sql"), "{error}");
    assert!(error.contains("DATABASE_SCHEMA_URL"), "{error}");

    // With the direct connection named, the same start applies it.
    pooled.database_schema_url = Some(host::config::Secret::new(app.database_url.clone()));
    let running = host::start(pooled, &app.database_url, FUNCTIONS)
        .await
        .expect("the start with DATABASE_SCHEMA_URL");
    running.shutdown().await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM schema_migrations WHERE name = '04-list-indexes.sql'")
            .await,
        1
    );
}
