//! `runtime migrate` and sample data, with the binary as an operator runs
//! it against a new, empty database: a start with a `DATABASE_URL` writes
//! no sample data unless `SAMPLE_DATA=true`; `runtime migrate` applies
//! each file once with a line per file, exits 0, and two at once take
//! turns.

use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::process::{self, free_port, wait_healthy};

/// The binary with `database_url`, logging at `info` to a pipe.
fn runtime(database_url: &str, port: u16) -> Command {
    let mut command = process::runtime_command(env!("CARGO_BIN_EXE_runtime"), port);
    command
        .env("DATABASE_URL", database_url)
        .env("LOG_LEVEL", "info")
        .env("WORKERS", "1");
    command
}

async fn count(database_url: &str, query: &str) -> i64 {
    let db = test_support::connect(database_url)
        .await
        .expect("connecting to the test database");
    db.query_one(query, &[])
        .await
        .and_then(|row| row.try_get(0))
        .unwrap_or_else(|error| panic!("{query}: {error}"))
}

/// Serves over `database_url` with `extra` settings until ready, then
/// counts users, products and orders.
async fn rows_after_a_serving_start(database_url: &str, extra: &[(&str, &str)]) -> i64 {
    let port = free_port();
    let mut command = runtime(database_url, port);
    command.envs(extra.iter().copied());
    let mut child = command.spawn().expect("starting the runtime binary");
    wait_healthy(port).await;
    let answer = process::get(port, "/api/users", &[])
        .await
        .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    process::stop_and_read_log(&mut child).await;
    count(
        database_url,
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM products) \
         + (SELECT count(*) FROM orders)",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_with_a_database_url_holds_no_sample_data_unless_asked() {
    let production = test_support::empty_database().await;
    assert_eq!(rows_after_a_serving_start(&production, &[]).await, 0);
    // A second start leaves it so.
    assert_eq!(rows_after_a_serving_start(&production, &[]).await, 0);

    let asked = test_support::empty_database().await;
    let rows = rows_after_a_serving_start(&asked, &[("SAMPLE_DATA", "true")]).await;
    assert_eq!(rows, 3 + 3 + 1, "three users, three products, one order");

    // Asked for on a database that holds data already: nothing is added.
    let db = test_support::connect(&production).await.unwrap();
    db.batch_execute("INSERT INTO users (username, email) VALUES ('real', 'real@example.com')")
        .await
        .unwrap();
    let rows = rows_after_a_serving_start(&production, &[("SAMPLE_DATA", "true")]).await;
    assert_eq!(rows, 1, "only the real user");
}

/// Runs `runtime migrate` and returns its exit status and log.
fn migrate(database_url: &str, extra: &[(&str, &str)]) -> std::process::Child {
    let mut command = runtime(database_url, free_port());
    command.arg("migrate").envs(extra.iter().copied());
    command.spawn().expect("starting runtime migrate")
}

fn finish(child: std::process::Child) -> (bool, String) {
    let output = child
        .wait_with_output()
        .expect("waiting for runtime migrate");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_each_file_once_and_concurrent_runs_take_turns() {
    let files = host::schema::FILES.len();
    let database_url = test_support::empty_database().await;
    let (first, second) = (migrate(&database_url, &[]), migrate(&database_url, &[]));
    let (first, second) = (finish(first), finish(second));
    assert!(first.0, "{}", first.1);
    assert!(second.0, "{}", second.1);
    let log = format!("{}\n{}", first.1, second.1);
    for (name, _) in host::schema::FILES {
        let applied = log
            .lines()
            .filter(|line| line.contains(name) && line.contains("applied"))
            .filter(|line| !line.contains("skipped"))
            .count();
        assert_eq!(applied, 1, "{name} applied once between the two:\n{log}");
    }
    assert_eq!(
        log.matches("already applied, skipped").count(),
        files,
        "what one applied the other skipped:\n{log}"
    );
    assert_eq!(
        count(&database_url, "SELECT count(*) FROM schema_migrations").await,
        files as i64
    );
    assert_eq!(count(&database_url, "SELECT count(*) FROM users").await, 0);

    // Idempotent: a third run skips every file and exits 0.
    let (ok, log) = finish(migrate(&database_url, &[]));
    assert!(ok, "{log}");
    assert_eq!(log.matches("already applied, skipped").count(), files);
    assert!(log.contains("the schema is up to date"), "{log}");

    // Sample data only when asked, and then once.
    let (ok, log) = finish(migrate(&database_url, &[("SAMPLE_DATA", "true")]));
    assert!(ok, "{log}");
    assert!(log.contains("02-sample-data.sql"), "{log}");
    assert_eq!(count(&database_url, "SELECT count(*) FROM users").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_fails_with_exit_1_naming_an_edited_file() {
    let database_url = test_support::fresh_database().await;
    let db = test_support::connect(&database_url).await.unwrap();
    db.batch_execute(
        "UPDATE schema_migrations SET checksum = '0' WHERE name = '04-list-indexes.sql'",
    )
    .await
    .unwrap();
    let child = migrate(&database_url, &[]);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("04-list-indexes.sql"), "{log}");
    assert!(log.contains("migration failed"), "{log}");
}

#[test]
fn migrate_with_an_unreachable_database_gives_up_with_exit_1() {
    let nowhere = format!("postgres://postgres@127.0.0.1:{}/shop", free_port());
    let started = std::time::Instant::now();
    let output = runtime(&nowhere, free_port())
        .arg("migrate")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // It waited for PostgreSQL (30 s) rather than failing on the first try.
    assert!(started.elapsed() > Duration::from_secs(25));
}
