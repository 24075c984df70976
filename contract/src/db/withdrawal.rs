//! A replica's connections can be withdrawn while reads wait on them: when
//! the runtime's watcher takes the replica out of rotation (it stopped
//! answering, fell behind, or was promoted), a read still waiting on one of
//! its connections is sent again to the primary, so that a frozen replica
//! costs a read a short delay, never a 504. So does a read whose replica
//! connection breaks under it (the replica restarted, a link reset). Reads only: a replica's
//! connections never carry a write. A read sent again gets a primary
//! connection of its own: it may be a slow search, which must not queue
//! ahead of other reads on a shared one.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use super::error::DbError;
use super::fallback::Fallback;
use super::lease::DbSource;
use super::params::Params;

/// Where a replica connection's reads go when it is withdrawn.
pub struct Withdrawal {
    /// `true` while the replica is out of rotation.
    out: watch::Receiver<bool>,
    primary: Arc<dyn DbSource>,
}

impl Withdrawal {
    /// Reads withdrawn when `out` turns `true` go to `primary`.
    pub fn new(out: watch::Receiver<bool>, primary: Arc<dyn DbSource>) -> Arc<Withdrawal> {
        Arc::new(Withdrawal { out, primary })
    }
}

impl Fallback for Withdrawal {
    fn out(&self) -> &watch::Receiver<bool> {
        &self.out
    }

    /// `sql` again, on the primary (boxed: it is a connection's own call).
    fn query<'a>(
        &'a self,
        sql: &'static str,
        params: Params<'a>,
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            tracing::info!("a read on a withdrawn replica goes to the primary");
            self.primary.exclusive().await?.query(sql, params).await
        })
    }

    /// A planned `sql` again, on the primary.
    fn query_planned<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [(&'a (dyn ToSql + Sync), Type)],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            tracing::info!("a read on a withdrawn replica goes to the primary");
            self.primary
                .exclusive()
                .await?
                .query_planned(sql, params)
                .await
        })
    }
}
