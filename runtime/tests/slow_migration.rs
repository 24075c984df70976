//! A migration that takes long does not cost the server its life: the
//! listener is up before the schema, `/health` (liveness) answers 200 all
//! the while, `/db-check` (readiness) and the API answer 503 with
//! `Retry-After` at once, and once the migration is done it serves.
//!
//! The slow file sleeps 4 s, twice the statement timeout the requests'
//! connections get here: minutes work the same way, since nothing bounds
//! the migration's time (its session has no statement timeout) and what
//! the probes ask never waits on it.

use std::time::{Duration, Instant};

use runtime::registry::FUNCTIONS;
use test_support::process::{self, free_port};
use test_support::test_settings;

const SLOW: &[(&str, &str)] = &[("90-slow-for-a-test.sql", "SELECT pg_sleep(4)")];

/// The status line and whole answer of `GET path`.
async fn get(port: u16, path: &str) -> String {
    process::get(port, path, &[]).await.unwrap_or_default()
}

/// Whether `runtime healthcheck`, the container's health check, passes:
/// it asks readiness, since a container's health gates its traffic.
async fn container_healthy(port: u16) -> bool {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_runtime"))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .expect("running runtime healthcheck")
        .success()
}

/// What a starting server answers, until `done` says the start is over:
/// (liveness answers, readiness 503s, API 503s with Retry-After) counted.
async fn while_starting(port: u16, done: impl Fn() -> bool) -> (usize, usize, usize) {
    let mut seen = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() && Instant::now() < deadline {
        let health = get(port, "/health").await;
        let ready = get(port, "/db-check").await;
        let api = get(port, "/api/users").await;
        if done() {
            break;
        }
        if health.is_empty() {
            // Not listening yet: the start has barely begun.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(health.contains(r#"{"status":"healthy"}"#), "{health}");
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(api.starts_with("HTTP/1.1 503"), "{api}");
        assert!(api.contains("application/problem+json"), "{api}");
        assert!(api.to_ascii_lowercase().contains("retry-after: "), "{api}");
        if seen.0 == 0 && !done() {
            // Alive is not healthy: no traffic may be sent to it yet.
            assert!(!container_healthy(port).await, "healthy while starting");
        }
        seen = (seen.0 + 1, seen.1 + 1, seen.2 + 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_answers_through_a_slow_migration_and_readiness_after() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut settings = test_settings();
    settings.port = port;
    // The requests' statement timeout (2 s) is below the migration's 4 s.
    settings.request_timeout = Duration::from_secs(1);
    settings.migrations.extra = SLOW;
    let started = Instant::now();
    let start = tokio::spawn({
        let url = database_url.clone();
        async move { host::start(settings, &url, FUNCTIONS).await }
    });
    let seen = while_starting(port, || start.is_finished()).await;
    let running = start.await.unwrap().expect("the start completes");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "the slow file ran"
    );
    // Probed through most of the 4 s, every probe answered at once.
    assert!(
        seen.0 >= 5,
        "liveness answered {} times while starting",
        seen.0
    );

    assert!(get(port, "/db-check").await.starts_with("HTTP/1.1 200"));
    assert!(get(port, "/api/users/1").await.starts_with("HTTP/1.1 200"));
    assert!(container_healthy(port).await, "not healthy once it serves");
    let db = test_support::connect(&database_url).await.unwrap();
    let applied: i64 = db
        .query_one(
            "SELECT count(*) FROM schema_migrations WHERE name = '90-slow-for-a-test.sql'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, 1);
    running.shutdown().await;
}

/// `MIGRATE=skip`: the server applies nothing, is alive and not ready,
/// until a separate `migrate` run has applied every file; then it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_migrate_skip_the_server_waits_for_the_migrate_step() {
    const LATER: &[(&str, &str)] = &[("91-applied-elsewhere.sql", "SELECT 1")];
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut settings = test_settings();
    settings.port = port;
    settings.migrations.mode = host::config::MigrateMode::Skip;
    settings.migrations.extra = LATER;
    let migrate_settings = settings.clone();
    let start = tokio::spawn({
        let url = database_url.clone();
        async move { host::start(settings, &url, FUNCTIONS).await }
    });
    // Not ready for as long as the file is missing (3 s here).
    let waited = Instant::now();
    let seen = while_starting(port, || {
        start.is_finished() || waited.elapsed() > Duration::from_secs(3)
    })
    .await;
    assert!(!start.is_finished(), "served before the schema was there");
    assert!(seen.1 >= 5, "readiness said 503 {} times", seen.1);

    let applied = host::db::migrate::run(&migrate_settings, &database_url)
        .await
        .expect("the migrate step");
    assert_eq!(applied.applied, 1);
    let running = tokio::time::timeout(Duration::from_secs(10), start)
        .await
        .expect("ready within the poll after the migration")
        .unwrap()
        .expect("the start completes");
    assert!(get(port, "/db-check").await.starts_with("HTTP/1.1 200"));
    running.shutdown().await;
}
