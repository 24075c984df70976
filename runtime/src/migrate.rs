//! `runtime migrate` (or `MIGRATE=only`): brings the database's schema up
//! to date and exits, 0 when it is, 1 when it could not be (the error
//! logged, naming the file), a line per file applied or already there.
//! Safe to run from several places at once: they take turns on an
//! advisory lock, and what one applied the next skips.

use std::process::ExitCode;

use host::config::Settings;
use host::embedded::{ensure_database, EmbeddedPostgres};

use crate::signals::Signals;

/// Runs the migration on `control`, stopping early on a signal (whatever
/// file was under way rolls back, or is redone next time).
pub fn run(
    control: &tokio::runtime::Runtime,
    signals: &mut Signals,
    settings: &Settings,
    database_url: &str,
    embedded: Option<&EmbeddedPostgres>,
) -> ExitCode {
    let outcome = control.block_on(async {
        if let Some(cluster) = embedded {
            ensure_database(&cluster.url("postgres"), "shop")
                .await
                .map_err(|error| format!("creating the database `shop`: {error}"))?;
        }
        tokio::select! {
            applied = host::db::migrate::run(settings, database_url) => {
                applied.map(|_| ()).map_err(|error| error.to_string())
            }
            signal = signals.recv() => Err(format!("stopped by {signal}")),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "migration failed");
            ExitCode::FAILURE
        }
    }
}
