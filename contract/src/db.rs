//! Database access as a function sees it.
//!
//! Two kinds of connection, both from the runtime's bb8 pool:
//!
//! - [`Shared`]: a connection that many requests use at once. tokio-postgres
//!   pipelines their statements on the one socket, so concurrent reads cost
//!   no pool checkout and no extra round trip. **Reads only**: under MVCC a
//!   plain `SELECT` never waits on a row lock, but a write can, and every
//!   statement queued behind it on the socket would wait too.
//! - [`Exclusive`]: a connection this request alone holds, for a write or a
//!   transaction. It counts against the function's bulkhead, so one function
//!   cannot take every connection. If the request is dropped while one of
//!   its statements is still running (a time limit, a client gone), the
//!   connection is never lent again: the runtime cancels the statement and
//!   closes the connection ([`PgConn::abandoned`]).
//!
//! Every statement is prepared once per connection and kept in that
//! connection's [`StatementCache`]. Errors become problems in one place
//! ([`DbError`] → [`Problem`]): constraint violations are 409 or 422, an
//! unreachable database is 503, anything else is logged and is a bare 500.

use std::collections::HashMap;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
pub use tokio_postgres::error::SqlState;
pub use tokio_postgres::types::{ToSql, Type};
pub use tokio_postgres::Row;
use tokio_postgres::{Client, GenericClient, Statement, Transaction};

use crate::{Problem, Rejection};

/// Statement parameters, as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection became free within {0:?}")]
    PoolTimeout(Duration),
    #[error("could not connect to the database: {0}")]
    Connect(String),
    #[error("{}", describe(.0))]
    Query(#[from] tokio_postgres::Error),
}

/// tokio-postgres says only "db error"; logs need the server's words.
/// (Logged, never sent: problem bodies carry their own text.)
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({}): {}", db.severity(), db.code().code(), db.message());
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text
        }
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

impl DbError {
    /// The SQLSTATE of a server-side error.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            DbError::Query(error) => error.code(),
            _ => None,
        }
    }

    /// The constraint a violation names, e.g. `users_email_key`.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            DbError::Query(error) => error.as_db_error()?.constraint(),
            _ => None,
        }
    }
}

impl DbError {
    /// A unique violation of one of `constraints` (name, field) becomes a
    /// 409 naming the field; anything else maps as usual.
    pub fn or_taken(self, constraints: &[(&str, &'static str)]) -> Problem {
        if self.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            let constraint = self.constraint().unwrap_or_default();
            if let Some((_, field)) = constraints.iter().find(|(name, _)| *name == constraint) {
                return Problem {
                    errors: vec![crate::FieldError::new(*field, "is already taken")],
                    ..Problem::conflict(format!("that {field} is already taken"))
                };
            }
        }
        self.into()
    }

    /// A foreign-key violation becomes a 409 with `detail`; anything else
    /// maps as usual.
    pub fn or_referenced(self, detail: impl Into<std::borrow::Cow<'static, str>>) -> Problem {
        if self.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
            return Problem::conflict(detail);
        }
        self.into()
    }
}

impl From<DbError> for Problem {
    fn from(error: DbError) -> Problem {
        match &error {
            DbError::PoolTimeout(_) => {
                Problem::unavailable("every database connection is busy; retry shortly")
                    .with_rejection(Rejection::PoolExhausted)
            }
            DbError::Connect(_) => {
                tracing::warn!(%error, "database unavailable");
                Problem::unavailable("the database is unavailable; retry shortly")
            }
            DbError::Query(inner) => match inner.code() {
                Some(code) => problem_for_state(code, &error),
                None if inner.is_closed() || std::error::Error::source(inner).is_some() => {
                    tracing::warn!(%error, "database connection lost");
                    Problem::unavailable("the database connection was lost; retry shortly")
                }
                None => {
                    tracing::error!(%error, "database client error");
                    Problem::internal()
                }
            },
        }
    }
}

fn problem_for_state(code: &SqlState, error: &DbError) -> Problem {
    use http::StatusCode;
    if *code == SqlState::UNIQUE_VIOLATION {
        Problem::conflict("a resource with that unique value already exists")
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        Problem::conflict("the resource is referenced by, or refers to, another resource")
    } else if *code == SqlState::CHECK_VIOLATION
        || *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        || *code == SqlState::NOT_NULL_VIOLATION
        || *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        || *code == SqlState::UNTRANSLATABLE_CHARACTER
    {
        Problem::invalid_field("body", "a value is out of the range the store accepts")
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || code.code().starts_with("57P")
        || code.code().starts_with("08")
        || *code == SqlState::TOO_MANY_CONNECTIONS
    {
        tracing::warn!(%error, "transient database error");
        Problem::unavailable("the database is busy or restarting; retry shortly")
    } else if *code == SqlState::QUERY_CANCELED {
        tracing::warn!(%error, "statement timed out");
        Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "the database took too long to answer",
        )
    } else {
        tracing::error!(%error, "database error");
        Problem::internal()
    }
}

/// Statements prepared on one connection, keyed by the address and length
/// of their `&'static str` SQL (a constant next to the code that runs it):
/// no hashing of the text on the hot path. Two copies of one text at two
/// addresses are two entries, which is harmless.
#[derive(Default)]
pub struct StatementCache {
    statements: Mutex<HashMap<(usize, usize), Statement>>,
}

impl StatementCache {
    async fn get<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        let key = (sql.as_ptr() as usize, sql.len());
        if let Some(statement) = self.lock().get(&key) {
            return Ok(statement.clone());
        }
        // Two requests on one shared connection may both prepare the same
        // statement the first time; both copies work, one is kept.
        let statement = client.prepare(sql).await?;
        self.lock().insert(key, statement.clone());
        Ok(statement)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, usize), Statement>> {
        // The map stays consistent even if a holder panicked: every insert
        // is a single call.
        self.statements
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts the calls on a connection that were sent and not yet answered.
/// A call whose future is dropped half-way never counts itself out, which
/// is the point: its statement may still be running on the server.
#[derive(Default)]
struct InFlight(AtomicU32);

impl InFlight {
    async fn track<T>(&self, call: impl Future<Output = T>) -> T {
        self.0.fetch_add(1, Ordering::Relaxed);
        let outcome = call.await;
        self.0.fetch_sub(1, Ordering::Relaxed);
        outcome
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// One PostgreSQL connection with its prepared statements.
pub struct PgConn {
    client: Client,
    statements: StatementCache,
    in_flight: InFlight,
}

impl PgConn {
    pub fn new(client: Client) -> PgConn {
        PgConn {
            client,
            statements: StatementCache::default(),
            in_flight: InFlight::default(),
        }
    }

    /// True when a call on this connection was dropped before its answer
    /// came: the server may still be running (or waiting on a lock for)
    /// that statement, so the connection must not be lent again until the
    /// statement is cancelled or the connection closed.
    pub fn abandoned(&self) -> bool {
        self.in_flight.any()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn statements(&self) -> &StatementCache {
        &self.statements
    }

    /// True once the socket is gone: the connection must not be used again.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// All rows of `sql`, planned for these very values: an unnamed
    /// statement with the parameters' types given, parsed, planned and run in
    /// one round trip. For a query whose best plan depends on the values
    /// (a text search, a price range), where a prepared statement's generic
    /// plan would be the wrong one for most of them.
    pub async fn query_planned(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, DbError> {
        self.in_flight
            .track(async { Ok(self.client.query_typed(sql, params).await?) })
            .await
    }

    /// BEGIN. Dropping the [`Tx`] without committing rolls back, so a
    /// handler stopped by its time limit leaves nothing half-written.
    pub async fn transaction(&mut self) -> Result<Tx<'_>, DbError> {
        let tx = self.in_flight.track(self.client.transaction()).await?;
        Ok(Tx {
            tx,
            statements: &self.statements,
            in_flight: &self.in_flight,
        })
    }
}

/// An open transaction on an [`Exclusive`] connection.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a StatementCache,
    in_flight: &'a InFlight,
}

impl Tx<'_> {
    pub async fn commit(self) -> Result<(), DbError> {
        let in_flight = self.in_flight;
        Ok(in_flight.track(self.tx.commit()).await?)
    }

    pub async fn rollback(self) -> Result<(), DbError> {
        let in_flight = self.in_flight;
        Ok(in_flight.track(self.tx.rollback()).await?)
    }
}

/// The statement helpers, once for connections and transactions alike.
/// Each call is counted in flight until its answer is read.
macro_rules! statement_helpers {
    ($ty:ty, $client:ident) => {
        impl $ty {
            /// All rows of a prepared statement.
            pub async fn query(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Vec<Row>, DbError> {
                self.in_flight
                    .track(async {
                        let statement = self.statements.get(&self.$client, sql).await?;
                        Ok(self.$client.query(&statement, params).await?)
                    })
                    .await
            }

            /// At most one row.
            pub async fn query_opt(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Option<Row>, DbError> {
                self.in_flight
                    .track(async {
                        let statement = self.statements.get(&self.$client, sql).await?;
                        Ok(self.$client.query_opt(&statement, params).await?)
                    })
                    .await
            }

            /// Exactly one row (e.g. `INSERT … RETURNING`).
            pub async fn query_one(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Row, DbError> {
                self.in_flight
                    .track(async {
                        let statement = self.statements.get(&self.$client, sql).await?;
                        Ok(self.$client.query_one(&statement, params).await?)
                    })
                    .await
            }

            /// The number of rows changed.
            pub async fn execute(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<u64, DbError> {
                self.in_flight
                    .track(async {
                        let statement = self.statements.get(&self.$client, sql).await?;
                        Ok(self.$client.execute(&statement, params).await?)
                    })
                    .await
            }
        }
    };
}

statement_helpers!(PgConn, client);
statement_helpers!(Tx<'_>, tx);

/// A shared connection as the runtime lends it.
pub type SharedLease = Arc<dyn Deref<Target = PgConn> + Send + Sync>;
/// An exclusive connection as the runtime lends it; dropping it gives it back.
pub type ExclusiveLease = Box<dyn DerefMut<Target = PgConn> + Send>;

/// Where connections come from: implemented by the runtime over bb8.
pub trait DbSource: Send + Sync + 'static {
    fn shared(&self) -> BoxFuture<'_, Result<SharedLease, DbError>>;
    fn exclusive(&self) -> BoxFuture<'_, Result<ExclusiveLease, DbError>>;
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
}

impl Db {
    /// `wait` bounds how long a request waits for its bulkhead share; the
    /// pool's own timeout bounds the wait for a connection after that.
    pub fn new(source: Arc<dyn DbSource>, max_exclusive: usize, wait: Duration) -> Db {
        Db {
            source,
            bulkhead: Arc::new(Semaphore::new(max_exclusive.max(1))),
            wait,
        }
    }

    /// A connection for reads, shared with other requests; see the module
    /// docs for why writes never run on it.
    pub async fn shared(&self) -> Result<Shared, Problem> {
        Ok(Shared(self.source.shared().await?))
    }

    /// A connection for a write or a transaction; 503 when the function's
    /// share or the pool is used up for longer than the pool timeout.
    pub async fn exclusive(&self) -> Result<Exclusive, Problem> {
        let permit = tokio::time::timeout(self.wait, self.bulkhead.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(DbError::PoolTimeout(self.wait))?;
        let lease = self.source.exclusive().await?;
        Ok(Exclusive {
            lease,
            _permit: permit,
        })
    }
}
