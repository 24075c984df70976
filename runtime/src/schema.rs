//! Applies `sql/` at start-up: each file once, in order, under an advisory
//! lock, so that ten replicas starting together apply it once. The files
//! are idempotent too, since PostgreSQL's image may have run them already.
//!
//! An applied file is never edited: its checksum is recorded, and a start
//! whose file differs from the applied one is refused, naming the file.
//! Otherwise the edit would silently not take effect here while a new
//! database got it, and the next release would fail on a column one
//! database has and another lacks. A change is a new numbered file.

use contract::PgConn;

/// The files of `sql/`, compiled in so the binary needs nothing beside it.
pub const FILES: &[(&str, &str)] = &[
    ("01-schema.sql", include_str!("../../sql/01-schema.sql")),
    (
        "02-sample-data.sql",
        include_str!("../../sql/02-sample-data.sql"),
    ),
    (
        "03-email-unique-any-case.sql",
        include_str!("../../sql/03-email-unique-any-case.sql"),
    ),
];

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
}

/// Applies every file not yet recorded in `schema_migrations`.
pub async fn apply(conn: &PgConn) -> Result<(), SchemaError> {
    let client = conn.client();
    let step = |file: &'static str| move |source| SchemaError::Apply { file, source };
    client
        .batch_execute(&format!(
            // NOTICEs ("… already exists, skipping") say nothing an operator
            // needs on every start.
            "BEGIN; SET LOCAL client_min_messages = warning;
             SELECT pg_advisory_xact_lock({LOCK_KEY});
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 name TEXT PRIMARY KEY,
                 checksum TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ))
        .await
        .map_err(step("schema_migrations"))?;
    for (name, sql) in FILES {
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
            }
            None => {
                client.batch_execute(sql).await.map_err(step(name))?;
                client
                    .execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                        &[name, &checksum],
                    )
                    .await
                    .map_err(step(name))?;
                tracing::info!(file = name, "applied");
            }
        }
    }
    client.batch_execute("COMMIT").await.map_err(step("COMMIT"))
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
    fn checksum_is_stable_and_notices_edits() {
        assert_eq!(super::checksum("abc"), "e71fa2190541574b");
        assert_ne!(super::checksum("abc"), super::checksum("abd"));
    }
}
