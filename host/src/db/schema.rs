//! Applies `sql/` at start-up: each file once, in order, under an advisory
//! lock, so that ten replicas starting together apply it once. The files
//! are idempotent too: databases made before the runtime was the only path
//! had them run by PostgreSQL's image as well. Who calls this, and when,
//! is `crate::db::migrate`'s.
//!
//! Each file runs in a transaction with its record in `schema_migrations`,
//! all or nothing; except a file whose first line is `-- no transaction`,
//! whose statements run one by one (CREATE INDEX CONCURRENTLY cannot run in
//! a transaction) and which is recorded once all of them have succeeded.
//!
//! An applied file is never edited: its checksum is recorded, and a start
//! whose file differs from the applied one is refused, naming the file.
//! Otherwise the edit would silently not take effect here while a new
//! database got it, and the next release would fail on a column one
//! database has and another lacks. A change is a new numbered file.

use contract::PgConn;

/// The files of `sql/`, compiled in so the binary needs nothing beside it.
/// The sample data is not among them: it goes in only when asked
/// ([`SAMPLE_DATA`], `crate::db::migrate`).
pub const FILES: &[(&str, &str)] = &[
    ("01-schema.sql", include_str!("../../../sql/01-schema.sql")),
    (
        "03-email-unique-any-case.sql",
        include_str!("../../../sql/03-email-unique-any-case.sql"),
    ),
    (
        "04-list-indexes.sql",
        include_str!("../../../sql/04-list-indexes.sql"),
    ),
    (
        "05-orders-by-user-and-status.sql",
        include_str!("../../../sql/05-orders-by-user-and-status.sql"),
    ),
    (
        "06-hot-stock-updates.sql",
        include_str!("../../../sql/06-hot-stock-updates.sql"),
    ),
    (
        "07-updated-at-moves-forward.sql",
        include_str!("../../../sql/07-updated-at-moves-forward.sql"),
    ),
];

/// Three users, three products and an order, for the embedded start and
/// tests; recorded under its name like a schema file, so it goes in once.
pub const SAMPLE_DATA: (&str, &str) = (
    "02-sample-data.sql",
    include_str!("../../../sql/02-sample-data.sql"),
);

/// Any number that is this service's own: the advisory lock's key.
const LOCK_KEY: i64 = 0x5348_4F50_5343_484D; // "SHOPSCHM"

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("applying {file}: {}", contract::db::describe(source))]
    Apply {
        file: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(
        "sql/{file} was edited after it was applied to this database (checksum {applied}, now \
         {now}); an applied file is never changed: restore it and put the change in a new \
         numbered file in sql/"
    )]
    Edited {
        file: &'static str,
        applied: String,
        now: String,
    },
    #[error(
        "sql/ has files to apply ({0}) and DATABASE_URL goes through a transaction-mode pooler \
         (DB_STATEMENTS=unnamed), which cannot hold the schema lock or run CREATE INDEX \
         CONCURRENTLY: set DATABASE_SCHEMA_URL to a direct connection to the primary"
    )]
    NeedsDirectConnection(String),
}

/// Whether every file is already applied as it is now: read without the
/// lock, so that a start through a pooler, or one of many replicas, does
/// nothing more when there is nothing to do. An edited file is an error
/// here already.
pub async fn pending(
    client: &tokio_postgres::Client,
    files: &[(&'static str, &'static str)],
) -> Result<Vec<&'static str>, SchemaError> {
    let step = |source| SchemaError::Apply {
        file: "schema_migrations",
        source,
    };
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(step)?;
    if !exists {
        return Ok(files.iter().map(|(name, _)| *name).collect());
    }
    let rows = client
        .query("SELECT name, checksum FROM schema_migrations", &[])
        .await
        .map_err(step)?;
    let mut pending = Vec::new();
    for (name, sql) in files {
        let recorded = rows
            .iter()
            .find(|row| row.try_get::<_, &str>(0).ok() == Some(*name))
            .map(|row| row.try_get::<_, String>(1))
            .transpose()
            .map_err(step)?;
        match recorded {
            None => pending.push(*name),
            Some(applied) if applied != checksum(sql) => {
                return Err(SchemaError::Edited {
                    file: name,
                    applied,
                    now: checksum(sql),
                })
            }
            Some(_) => {}
        }
    }
    Ok(pending)
}

/// Brings `files` up to date on `conn`. `through_pooler`: `conn` is a
/// transaction-mode pooler, which can check but not apply.
pub async fn bring_up_to_date(
    conn: &PgConn,
    through_pooler: bool,
    files: &[(&'static str, &'static str)],
) -> Result<Applied, SchemaError> {
    let pending = pending(conn.client(), files).await?;
    if pending.is_empty() {
        return Ok(Applied::default());
    }
    if through_pooler {
        return Err(SchemaError::NeedsDirectConnection(pending.join(", ")));
    }
    apply_files(conn, files).await
}

/// What a run applied, and what it found applied already.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub applied: usize,
    pub skipped: usize,
}

/// The first line that marks a file to run outside a transaction.
const NO_TRANSACTION: &str = "-- no transaction";

/// Applies every file not yet recorded in `schema_migrations`. The lock is
/// the session's: it is held across files and transactions, and released
/// when the connection (dedicated to this) closes, whatever happened.
pub async fn apply(conn: &PgConn) -> Result<Applied, SchemaError> {
    apply_files(conn, FILES).await
}

/// [`apply`] for `files`: `sql/`, the sample data, a test's own.
pub async fn apply_files(
    conn: &PgConn,
    files: &[(&'static str, &'static str)],
) -> Result<Applied, SchemaError> {
    let client = conn.client();
    let step = |file: &'static str| move |source| SchemaError::Apply { file, source };
    // NOTICEs ("… already exists, skipping") say nothing an operator
    // needs on every start.
    client
        // A pooled connection has the requests' statement timeout; an
        // index built on a big table takes minutes and must not be cut.
        .batch_execute("SET client_min_messages = warning; SET statement_timeout = 0")
        .await
        .map_err(step("schema_migrations"))?;
    take_lock(client).await.map_err(step("schema_migrations"))?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name TEXT PRIMARY KEY,
                 checksum TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await
        .map_err(step("schema_migrations"))?;
    let mut done = Applied::default();
    for (name, sql) in files {
        let started = std::time::Instant::now();
        let checksum = checksum(sql);
        let applied = client
            .query_opt(
                "SELECT checksum FROM schema_migrations WHERE name = $1",
                &[name],
            )
            .await
            .map_err(step(name))?;
        match applied {
            Some(row) => {
                let recorded: String = row.try_get(0).map_err(step(name))?;
                if recorded != checksum {
                    // The open transaction rolls back when the connection goes.
                    return Err(SchemaError::Edited {
                        file: name,
                        applied: recorded,
                        now: checksum,
                    });
                }
                done.skipped += 1;
                tracing::info!(file = name, "already applied, skipped");
            }
            None if sql.starts_with(NO_TRANSACTION) => {
                // One statement per simple query: several in one string
                // would run as one implicit transaction.
                for statement in statements(sql) {
                    client.batch_execute(statement).await.map_err(step(name))?;
                }
                record(client, name, &checksum).await.map_err(step(name))?;
                done.applied += 1;
                tracing::info!(file = name, ms = elapsed_ms(started), "applied");
            }
            None => {
                client.batch_execute("BEGIN").await.map_err(step(name))?;
                client.batch_execute(sql).await.map_err(step(name))?;
                record(client, name, &checksum).await.map_err(step(name))?;
                client.batch_execute("COMMIT").await.map_err(step(name))?;
                done.applied += 1;
                tracing::info!(file = name, ms = elapsed_ms(started), "applied");
            }
        }
    }
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .await
        .map_err(step("schema_migrations"))?;
    Ok(done)
}

fn elapsed_ms(started: std::time::Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// Takes the session-level advisory lock by polling, never by a blocking
/// `pg_advisory_lock`: a session blocked in a statement holds a snapshot,
/// and CREATE INDEX CONCURRENTLY in the session that has the lock waits for
/// every older snapshot to end; the two would wait for each other.
async fn take_lock(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .await?;
        if row.try_get::<_, bool>(0)? {
            return Ok(());
        }
        if !said && started.elapsed() > std::time::Duration::from_secs(5) {
            tracing::info!("waiting for another instance to finish applying sql/");
            said = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn record(
    client: &tokio_postgres::Client,
    name: &str,
    checksum: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
            &[&name, &checksum],
        )
        .await
}

/// The statements of a `-- no transaction` file: split at each `;` that
/// ends a line, comment lines dropped. Such files hold plain DDL, with no
/// `;` inside a literal or a function body.
fn statements(sql: &str) -> Vec<&str> {
    sql.split(";\n")
        .map(|chunk| chunk.trim())
        .filter(|chunk| {
            chunk
                .lines()
                .any(|line| !line.trim_start().starts_with("--") && !line.trim().is_empty())
        })
        .map(|chunk| chunk.trim_end_matches(';'))
        .collect()
}

/// FNV-1a, 64 bits: stable across builds, enough to notice an edit.
fn checksum(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_no_transaction_file_splits_into_its_statements() {
        let sql = "-- no transaction\n-- why\nCREATE EXTENSION x;\n\n-- a\nDROP INDEX y;\nCREATE INDEX z ON t (a);\n";
        assert_eq!(
            super::statements(sql),
            [
                "-- no transaction\n-- why\nCREATE EXTENSION x",
                "-- a\nDROP INDEX y",
                "CREATE INDEX z ON t (a)"
            ]
        );
    }

    #[test]
    fn checksum_is_stable_and_notices_edits() {
        assert_eq!(super::checksum("abc"), "e71fa2190541574b");
        assert_ne!(super::checksum("abc"), super::checksum("abd"));
    }
}
