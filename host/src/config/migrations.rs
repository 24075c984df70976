//! How a start treats the schema (`MIGRATE`) and whether the sample data
//! goes in (`SAMPLE_DATA`).
//!
//! Sample data is for the embedded, no-configuration start and for tests:
//! a start with a `DATABASE_URL` never writes it unless asked, so that a
//! real shop does not open with three fake users and their order.

use super::env::{ConfigError, Env};

/// What a serving start does about `sql/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateMode {
    /// Apply what is missing, then serve (one server, or replicas that
    /// start together: the advisory lock lets one apply).
    Auto,
    /// Apply nothing: wait, not ready, until a separate `runtime migrate`
    /// (a Kubernetes init container, Compose's `migrate` service) has.
    Skip,
    /// Apply what is missing and exit, as `runtime migrate` does.
    Only,
}

impl std::str::FromStr for MigrateMode {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "auto" => Ok(MigrateMode::Auto),
            "skip" => Ok(MigrateMode::Skip),
            "only" => Ok(MigrateMode::Only),
            _ => Err("must be `auto`, `skip` or `only`".into()),
        }
    }
}

/// The schema settings.
#[derive(Clone, Debug)]
pub struct Migrations {
    pub mode: MigrateMode,
    /// Whether whoever applies `sql/` also loads `sql/02-sample-data.sql`
    /// (into an empty database only, once). From the environment: on when
    /// no `DATABASE_URL` is given (the embedded PostgreSQL), else off.
    pub sample_data: bool,
    /// Files applied after `sql/`, never read from the environment: a test
    /// hands one in (a deliberately slow migration).
    pub extra: &'static [(&'static str, &'static str)],
}

impl Default for Migrations {
    fn default() -> Self {
        Migrations {
            mode: MigrateMode::Auto,
            sample_data: false,
            extra: &[],
        }
    }
}

/// Reads `MIGRATE` and `SAMPLE_DATA`.
pub(super) fn read(env: &Env) -> Result<Migrations, ConfigError> {
    let embedded =
        env.string("DATABASE_URL").is_none() && env.string("DATABASE_URL_FILE").is_none();
    Ok(Migrations {
        mode: env.parse("MIGRATE")?.unwrap_or(MigrateMode::Auto),
        sample_data: env.parse("SAMPLE_DATA")?.unwrap_or(embedded),
        extra: &[],
    })
}
