//! Why the embedded PostgreSQL could not be had.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the embedded PostgreSQL could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin; \
         install PostgreSQL (e.g. `apt-get install postgresql`) or set DATABASE_URL"
    )]
    NotInstalled,
    #[error("running as root, but there is no `postgres` user to run PostgreSQL as")]
    NoPostgresUser,
    #[error("{action} ({path}): {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error("PostgreSQL did not accept connections within {0:?}; see {1}")]
    NotReady(Duration, PathBuf),
    #[error(
        "{owner} is using {data_dir}; stop it first, or give this one its own EMBEDDED_PG_DIR"
    )]
    InUse { owner: String, data_dir: PathBuf },
}

/// An I/O error, with what was being done and to which path.
pub(super) fn io(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let path = path.to_owned();
    move |source| EmbeddedError::Io {
        action,
        path,
        source,
    }
}
