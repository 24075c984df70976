//! Who brings the schema up to date, and when (`MIGRATE`, `SAMPLE_DATA`):
//!
//! - `runtime migrate` (or `MIGRATE=only`): applies `sql/` and exits, a log
//!   line per file applied or skipped. Run as a Kubernetes init container
//!   or Compose's one-shot `migrate` service, before the servers start, so
//!   that no probe is ever waiting on a migration.
//! - A serving start with `MIGRATE=auto` (the default, and what `cargo run
//!   -p runtime` needs to work with no configuration) applies what is
//!   missing itself, while its listener already answers liveness.
//! - `MIGRATE=skip`: the server applies nothing and stays not ready until
//!   the separate step has applied every file.
//!
//! Either way [`crate::db::schema`] does the applying: each file once, under
//! an advisory lock, so concurrent runs are safe and a second is a no-op.

use std::time::Duration;

use contract::PgConn;

use crate::config::{MigrateMode, Migrations, Settings};
use crate::db::connect::patiently;
use crate::db::pool::{self, Database};
use crate::db::schema::{self, Applied};
use crate::StartError;

/// How long a start waits for PostgreSQL to accept connections.
const DATABASE_PATIENCE: Duration = Duration::from_secs(30);

/// How often a `MIGRATE=skip` start looks whether the schema is there.
const SCHEMA_POLL: Duration = Duration::from_secs(2);

/// The files whoever applies `sql/` applies: the schema, then the sample
/// data when asked, then any a test hands in.
pub fn files(migrations: &Migrations) -> Vec<(&'static str, &'static str)> {
    let mut files = schema::FILES.to_vec();
    if migrations.sample_data {
        files.push(schema::SAMPLE_DATA);
    }
    files.extend_from_slice(migrations.extra);
    files
}

/// The serving start's part, after its listener is up: wait for the
/// database, then apply (`auto`) or wait for the schema (`skip`).
pub(crate) async fn prepare(settings: &Settings, database: &Database) -> Result<(), StartError> {
    database.wait_until_ready(DATABASE_PATIENCE).await?;
    let migrations = &settings.migrations;
    if migrations.mode == MigrateMode::Skip {
        return wait_for_schema(migrations, database).await;
    }
    let files = files(migrations);
    match &settings.database_schema_url {
        Some(url) => {
            let direct =
                pool::connect_once(url.expose(), settings.database_ca_file.as_deref()).await?;
            schema::bring_up_to_date(&direct, false, &files).await?;
        }
        None => {
            let through_pooler = settings.db_statements == contract::db::Statements::Unnamed;
            schema::bring_up_to_date(&database.dedicated().await?, through_pooler, &files).await?;
        }
    }
    Ok(())
}

/// `MIGRATE=skip`: waits, as long as it takes, until every schema file is
/// applied (the sample data is the migrate step's business). An edited
/// file is an error at once.
async fn wait_for_schema(migrations: &Migrations, database: &Database) -> Result<(), StartError> {
    let mut files = schema::FILES.to_vec();
    files.extend_from_slice(migrations.extra);
    let conn = database.dedicated().await?;
    let mut said = false;
    loop {
        let pending = schema::pending(conn.client(), &files).await?;
        if pending.is_empty() {
            return Ok(());
        }
        if !said {
            tracing::info!(
                pending = pending.join(", "),
                "MIGRATE=skip: waiting for `runtime migrate` to apply sql/"
            );
            said = true;
        }
        tokio::time::sleep(SCHEMA_POLL).await;
    }
}

/// `runtime migrate`: applies every file not yet applied, on
/// `DATABASE_SCHEMA_URL` when given, else on `database_url`, and says per
/// file what it did.
pub async fn run(settings: &Settings, database_url: &str) -> Result<Applied, StartError> {
    let files = files(&settings.migrations);
    let (url, through_pooler) = match &settings.database_schema_url {
        Some(url) => (url.expose(), false),
        None => (
            database_url,
            settings.db_statements == contract::db::Statements::Unnamed,
        ),
    };
    let conn = connect_patiently(url, settings).await?;
    let applied = if through_pooler {
        // Checked, not applied: a pooler holds no session lock.
        schema::bring_up_to_date(&conn, true, &files).await?
    } else {
        schema::apply_files(&conn, &files).await?
    };
    tracing::info!(
        applied = applied.applied,
        skipped = applied.skipped,
        sample_data = settings.migrations.sample_data,
        "the schema is up to date"
    );
    Ok(applied)
}

/// A connection for migrating, once PostgreSQL accepts one (it may be
/// starting beside this step).
async fn connect_patiently(url: &str, settings: &Settings) -> Result<PgConn, StartError> {
    let ca_file = settings.database_ca_file.as_deref();
    Ok(patiently(DATABASE_PATIENCE, || pool::connect_once(url, ca_file)).await?)
}
