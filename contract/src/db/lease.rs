//! How a function gets a connection: [`Db`], with the function's bulkhead,
//! lends [`Shared`] connections for reads and [`Exclusive`] ones for writes
//! and transactions, from a [`DbSource`] the runtime implements.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{DbError, PgConn};
use crate::Problem;

/// A shared connection as the runtime lends it.
pub type SharedLease = Arc<dyn Deref<Target = PgConn> + Send + Sync>;
/// An exclusive connection as the runtime lends it; dropping it gives it back.
pub type ExclusiveLease = Box<dyn DerefMut<Target = PgConn> + Send + Sync>;

/// Where connections come from: implemented by the runtime over bb8.
pub trait DbSource: Send + Sync + 'static {
    /// A shared connection to the primary.
    fn shared(&self) -> BoxFuture<'_, Result<SharedLease, DbError>>;
    /// An exclusive connection to the primary.
    fn exclusive(&self) -> BoxFuture<'_, Result<ExclusiveLease, DbError>>;
    /// A shared connection for a read that may see a replica's slightly
    /// older state; the primary when there is no replica.
    fn replica(&self) -> BoxFuture<'_, Result<SharedLease, DbError>> {
        self.shared()
    }
    /// A connection of its own for a read whose cost depends on its input,
    /// on a replica when there is one, so that it holds up no other read.
    fn isolated(&self) -> BoxFuture<'_, Result<ExclusiveLease, DbError>> {
        self.exclusive()
    }
}

/// What a read may cost, which decides where it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadCost {
    /// A few rows by an index, whatever the input: it may share a
    /// connection with other reads.
    Bounded,
    /// Grows with what the client asked (a text search, a price range, a
    /// deep `offset`): a connection of its own, from the function's
    /// bulkhead, so that a slow one holds up only its own function; and,
    /// when the function's time limit passes, the statement is cancelled
    /// with it.
    ByInput,
}

/// A connection for one read: shared, or the read's own; see [`ReadCost`].
pub enum Reader {
    Shared(Shared),
    Isolated(Exclusive),
}

impl Deref for Reader {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        match self {
            Reader::Shared(conn) => conn,
            Reader::Isolated(conn) => conn,
        }
    }
}

/// A connection shared with concurrent requests; see the module docs.
pub struct Shared(SharedLease);

impl Deref for Shared {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        &self.0
    }
}

/// A connection this request alone holds, with its bulkhead permit.
pub struct Exclusive {
    lease: ExclusiveLease,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Exclusive {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        &self.lease
    }
}

impl DerefMut for Exclusive {
    fn deref_mut(&mut self) -> &mut PgConn {
        &mut self.lease
    }
}

/// A function's access to the database: the runtime's source, and the
/// function's bulkhead (how many exclusive connections it may hold).
#[derive(Clone)]
pub struct Db {
    source: Arc<dyn DbSource>,
    bulkhead: Arc<Semaphore>,
    wait: Duration,
    /// The client asked for a fresh read (`Cache-Control: no-cache`).
    fresh: bool,
}

impl Db {
    /// `wait` bounds how long a request waits for its bulkhead share; the
    /// pool's own timeout bounds the wait for a connection after that.
    pub fn new(source: Arc<dyn DbSource>, max_exclusive: usize, wait: Duration) -> Db {
        Db {
            source,
            bulkhead: Arc::new(Semaphore::new(max_exclusive.max(1))),
            wait,
            fresh: false,
        }
    }

    /// The same access, with every read on the primary: for a client that
    /// asked to see every write committed so far.
    pub fn with_fresh_reads(mut self) -> Db {
        self.fresh = true;
        self
    }

    /// A connection for reads, shared with other requests; see the module
    /// docs for why writes never run on it. With read replicas configured it
    /// may be a replica's, a moment behind the primary: a read that must see
    /// a write just made takes [`Db::fresh`].
    pub async fn shared(&self) -> Result<Shared, Problem> {
        if self.fresh {
            return self.fresh().await;
        }
        Ok(Shared(self.source.replica().await?))
    }

    /// A connection for a read that costs `cost`: shared when bounded, else
    /// the read's own (see [`ReadCost`]).
    pub async fn read(&self, cost: ReadCost) -> Result<Reader, Problem> {
        match cost {
            ReadCost::Bounded => Ok(Reader::Shared(self.shared().await?)),
            ReadCost::ByInput => {
                let permit = self.permit().await?;
                let lease = match self.fresh {
                    true => self.source.exclusive().await?,
                    false => self.source.isolated().await?,
                };
                Ok(Reader::Isolated(Exclusive {
                    lease,
                    _permit: permit,
                }))
            }
        }
    }

    /// A shared connection to the primary, for a read that must see every
    /// committed write (e.g. the order another request just created).
    pub async fn fresh(&self) -> Result<Shared, Problem> {
        Ok(Shared(self.source.shared().await?))
    }

    /// A connection for a write or a transaction; 503 when the function's
    /// share or the pool is used up for longer than the pool timeout.
    pub async fn exclusive(&self) -> Result<Exclusive, Problem> {
        let permit = self.permit().await?;
        let lease = self.source.exclusive().await?;
        Ok(Exclusive {
            lease,
            _permit: permit,
        })
    }

    /// A share of the function's bulkhead, waited for at most `wait`.
    async fn permit(&self) -> Result<OwnedSemaphorePermit, DbError> {
        tokio::time::timeout(self.wait, self.bulkhead.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(DbError::PoolTimeout(self.wait))
    }
}
