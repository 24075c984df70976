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
//! Statements are sent as [`Statements`] says (`DB_STATEMENTS`): prepared
//! once per connection and kept in that connection's [`StatementCache`]
//! (the default, the fastest on a direct connection), or unnamed, with their
//! parameter types, parsed, bound and run before one Sync, so that nothing
//! named outlives a transaction, as a transaction-mode pooler requires. Errors become problems in one place
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
    #[error("expected {expected} row(s), the statement returned {got}")]
    RowCount { expected: &'static str, got: usize },
    #[error("the statement takes {expected} parameter(s), {given} were given")]
    Parameters { expected: usize, given: usize },
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
            DbError::RowCount { .. } | DbError::Parameters { .. } => {
                tracing::error!(%error, "a statement was used wrongly");
                Problem::internal()
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

/// How statements reach the server (`DB_STATEMENTS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Statements {
    /// Prepared once per connection and reused: parsed and planned once.
    /// The fastest on a direct connection.
    #[default]
    Prepared,
    /// Unnamed, with explicit parameter types: Parse, Bind, Execute and one
    /// Sync, so no named statement outlives its transaction. For a
    /// transaction-mode pooler (PgBouncer before 1.21 refuses named
    /// statements there: "prepared statement \"s3\" already exists").
    Unnamed,
}

impl std::str::FromStr for Statements {
    type Err = String;

    fn from_str(value: &str) -> Result<Statements, String> {
        match value {
            "prepared" => Ok(Statements::Prepared),
            "unnamed" => Ok(Statements::Unnamed),
            _ => Err("must be `prepared` or `unnamed`".into()),
        }
    }
}

/// A statement's identity: where its `&'static str` lives and how long it
/// is. Only made from a `&'static str`, whose address never changes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct SqlKey(usize, usize);

impl SqlKey {
    fn of(sql: &'static str) -> SqlKey {
        SqlKey(sql.as_ptr() as usize, sql.len())
    }
}

/// What is known of each statement on one connection, keyed by the address
/// and length of its `&'static str` SQL (a constant next to the code that
/// runs it): no hashing of the text on the hot path. Two copies of one text
/// at two addresses are two entries, which is harmless.
#[derive(Default)]
pub struct StatementCache {
    /// Prepared mode: the prepared statements.
    statements: Mutex<HashMap<SqlKey, Statement>>,
    /// Unnamed mode: each statement's parameter types, learnt once.
    types: Mutex<HashMap<SqlKey, Arc<[Type]>>>,
    /// One discovery at a time outside a transaction: two interleaved
    /// BEGIN … COMMIT on one connection would close a statement outside
    /// its transaction, on whatever server connection a pooler picks.
    discovering: tokio::sync::Mutex<()>,
}

impl StatementCache {
    async fn get<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        let key = SqlKey::of(sql);
        if let Some(statement) = lock(&self.statements).get(&key) {
            return Ok(statement.clone());
        }
        // Two requests on one shared connection may both prepare the same
        // statement the first time; both copies work, one is kept.
        let statement = client.prepare(sql).await?;
        lock(&self.statements).insert(key, statement.clone());
        Ok(statement)
    }

    /// The parameter types of `sql`, learnt the first time by preparing it
    /// inside a transaction and closing it before the transaction ends, so
    /// that even then nothing named is left on a pooled server connection.
    async fn types<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &'static str,
        in_transaction: bool,
    ) -> Result<Arc<[Type]>, tokio_postgres::Error> {
        let key = SqlKey::of(sql);
        if let Some(types) = lock(&self.types).get(&key) {
            return Ok(types.clone());
        }
        let _one_at_a_time = match in_transaction {
            true => None,
            false => Some(self.discovering.lock().await),
        };
        if let Some(types) = lock(&self.types).get(&key) {
            return Ok(types.clone());
        }
        if !in_transaction {
            client.batch_execute("BEGIN").await?;
        }
        let prepared = client.prepare(sql).await;
        // Dropping the statement sends its Close before the COMMIT.
        let types = prepared.map(|statement| Arc::<[Type]>::from(statement.params()));
        if !in_transaction {
            let end = if types.is_ok() { "COMMIT" } else { "ROLLBACK" };
            client.batch_execute(end).await?;
        }
        let types = types?;
        lock(&self.types).insert(key, types.clone());
        Ok(types)
    }

    pub fn len(&self) -> usize {
        lock(&self.statements).len() + lock(&self.types).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The maps stay consistent even if a holder panicked: every insert is a
/// single call.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `params` beside the types the server expects, for an unnamed statement.
fn typed<'a>(
    params: Params<'a>,
    types: &[Type],
) -> Result<Vec<(&'a (dyn ToSql + Sync), Type)>, DbError> {
    if params.len() != types.len() {
        return Err(DbError::Parameters {
            expected: types.len(),
            given: params.len(),
        });
    }
    Ok(params.iter().copied().zip(types.iter().cloned()).collect())
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
    mode: Statements,
    /// Set per transaction (`SET LOCAL`) when no session setting may be
    /// left on a pooled server connection.
    transaction_timeout: Option<Duration>,
}

impl PgConn {
    /// A connection whose statements are prepared once.
    pub fn new(client: Client) -> PgConn {
        PgConn::with_mode(client, Statements::Prepared, None)
    }

    /// A connection sending statements as `mode` says; with a
    /// `transaction_timeout`, each transaction sets its statement timeout
    /// with `SET LOCAL`.
    pub fn with_mode(
        client: Client,
        mode: Statements,
        transaction_timeout: Option<Duration>,
    ) -> PgConn {
        PgConn {
            client,
            statements: StatementCache::default(),
            in_flight: InFlight::default(),
            mode,
            transaction_timeout,
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
        if let Some(timeout) = self.transaction_timeout {
            let set = format!("SET LOCAL statement_timeout = {}", timeout.as_millis());
            self.in_flight.track(tx.batch_execute(&set)).await?;
        }
        Ok(Tx {
            tx,
            statements: &self.statements,
            in_flight: &self.in_flight,
            mode: self.mode,
        })
    }
}

/// An open transaction on an [`Exclusive`] connection.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a StatementCache,
    in_flight: &'a InFlight,
    mode: Statements,
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
    ($ty:ty, $client:ident, $in_transaction:expr) => {
        impl $ty {
            /// All rows of a statement.
            pub async fn query(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Vec<Row>, DbError> {
                self.in_flight
                    .track(async {
                        Ok(match self.mode {
                            Statements::Prepared => {
                                let statement = self.statements.get(&self.$client, sql).await?;
                                self.$client.query(&statement, params).await?
                            }
                            Statements::Unnamed => {
                                let types = self
                                    .statements
                                    .types(&self.$client, sql, $in_transaction)
                                    .await?;
                                self.$client
                                    .query_typed(sql, &typed(params, &types)?)
                                    .await?
                            }
                        })
                    })
                    .await
            }

            /// At most one row.
            pub async fn query_opt(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Option<Row>, DbError> {
                let mut rows = self.query(sql, params).await?;
                match rows.len() {
                    0 | 1 => Ok(rows.pop()),
                    got => Err(DbError::RowCount {
                        expected: "at most one",
                        got,
                    }),
                }
            }

            /// Exactly one row (e.g. `INSERT … RETURNING`).
            pub async fn query_one(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Row, DbError> {
                let mut rows = self.query(sql, params).await?;
                match rows.len() {
                    1 => Ok(rows.remove(0)),
                    got => Err(DbError::RowCount {
                        expected: "exactly one",
                        got,
                    }),
                }
            }

            /// The number of rows changed.
            pub async fn execute(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<u64, DbError> {
                self.in_flight
                    .track(async {
                        Ok(match self.mode {
                            Statements::Prepared => {
                                let statement = self.statements.get(&self.$client, sql).await?;
                                self.$client.execute(&statement, params).await?
                            }
                            Statements::Unnamed => {
                                let types = self
                                    .statements
                                    .types(&self.$client, sql, $in_transaction)
                                    .await?;
                                self.$client
                                    .execute_typed(sql, &typed(params, &types)?)
                                    .await?
                            }
                        })
                    })
                    .await
            }
        }
    };
}

statement_helpers!(PgConn, client, false);
statement_helpers!(Tx<'_>, tx, true);

/// A shared connection as the runtime lends it.
pub type SharedLease = Arc<dyn Deref<Target = PgConn> + Send + Sync>;
/// An exclusive connection as the runtime lends it; dropping it gives it back.
pub type ExclusiveLease = Box<dyn DerefMut<Target = PgConn> + Send>;

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

    /// A shared connection to the primary, for a read that must see every
    /// committed write (e.g. the order another request just created).
    pub async fn fresh(&self) -> Result<Shared, Problem> {
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
