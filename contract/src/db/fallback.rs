//! Where a connection's reads go when it can no longer answer them: the
//! connection knows only this face, and `withdrawal` (a replica taken out
//! of rotation, its reads sent to the primary) is what implements it. The
//! trait keeps the connection from depending on the leases the fallback
//! borrows from, which themselves lend connections.

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use super::error::DbError;
use super::params::Params;

/// Somewhere else to send a read that is waiting on a connection.
pub trait Fallback: Send + Sync {
    /// `true` from the moment the connection's reads should go elsewhere.
    fn out(&self) -> &watch::Receiver<bool>;

    /// `sql` again, elsewhere (boxed: it is a connection's own call).
    fn query<'a>(
        &'a self,
        sql: &'static str,
        params: Params<'a>,
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>>;

    /// A planned `sql` again, elsewhere.
    fn query_planned<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [(&'a (dyn ToSql + Sync), Type)],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>>;
}

/// Resolves once `fallback` says the reads go elsewhere (at once if it
/// already does); never, if whoever says so is gone.
pub(crate) async fn taken_over(fallback: &dyn Fallback) {
    let mut out = fallback.out().clone();
    if out.wait_for(|out| *out).await.is_err() {
        std::future::pending::<()>().await;
    }
}
