//! Statement parameters, as tokio-postgres takes them: one name for the
//! slice every call of `conn`, `lease` and `withdrawal` passes along.

use tokio_postgres::types::ToSql;

/// Statement parameters, as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];
