//! The database pool: bb8 + bb8-postgres over tokio-postgres, and the source
//! of the two kinds of connection the contract offers.
//!
//! bb8 is the one keeper of connections: it opens them, replaces broken ones
//! and bounds how many exist. Exclusive connections are ordinary bb8
//! checkouts. Shared connections are a few bb8 connections held in *lanes*:
//! each request takes the next lane round-robin and tokio-postgres pipelines
//! the statements of every request on that lane over one socket, so reads
//! need no checkout and no validation round trip. A lane whose connection
//! has closed (PostgreSQL restarted) gets a fresh one from bb8 on next use.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bb8::{ManageConnection, PooledConnection, RunError};
use bb8_postgres::PostgresConnectionManager;
use contract::db::{DbSource, ExclusiveLease, SharedLease, Statements, Withdrawal};
use contract::{DbError, PgConn};
use futures_util::future::BoxFuture;
use tokio_postgres_rustls::MakeRustlsConnect;

pub use crate::db::connect::connect_once;
use crate::db::connect::{client_config, patiently, tls_connector};
use crate::telemetry::metrics::{ABANDONED, CLOSED_BROKEN, CONNECTION_ERRORS, GET_TIMEOUTS};

/// bb8-postgres' manager, with a statement cache on every connection and
/// the session settings the runtime relies on.
pub struct Manager {
    inner: PostgresConnectionManager<MakeRustlsConnect>,
    /// For cancel requests, which open a connection of their own.
    tls: MakeRustlsConnect,
    statement_timeout: Duration,
    statements: Statements,
    /// For a replica's pool: where reads go when it is withdrawn.
    withdrawal: Option<Arc<Withdrawal>>,
}

impl Manager {
    fn wrap(&self, conn: PgConn) -> PgConn {
        match &self.withdrawal {
            Some(withdrawal) => conn.with_withdrawal(withdrawal.clone()),
            None => conn,
        }
    }
}

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = tokio_postgres::Error;

    async fn connect(&self) -> Result<PgConn, tokio_postgres::Error> {
        let client = self.inner.connect().await?;
        match self.statements {
            Statements::Prepared => {
                // A statement outliving every function's time limit would
                // hold a shared lane for nothing: the server stops it.
                client
                    .batch_execute(&format!(
                        "SET statement_timeout = {}",
                        self.statement_timeout.as_millis()
                    ))
                    .await?;
                Ok(self.wrap(PgConn::new(client)))
            }
            // Through a pooler a session setting would stay on a server
            // connection that other clients get next: the timeout is set
            // per transaction instead, and single statements that overrun
            // are cancelled when their request is abandoned.
            Statements::Unnamed => Ok(self.wrap(PgConn::with_mode(
                client,
                Statements::Unnamed,
                Some(self.statement_timeout),
            ))),
        }
    }

    async fn is_valid(&self, conn: &mut PgConn) -> Result<(), tokio_postgres::Error> {
        conn.client().simple_query("").await.map(|_| ())
    }

    /// Called by bb8 as a connection comes back. A connection whose request
    /// was dropped mid-statement (504, client gone) may still be running or
    /// waiting on a lock for it: lending it out would make the next request
    /// wait behind that. Cancel the statement and let bb8 close and replace
    /// the connection.
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        if conn.is_closed() {
            metrics::counter!(CLOSED_BROKEN).increment(1);
            return true;
        }
        if !conn.abandoned() {
            return false;
        }
        metrics::counter!(CLOSED_BROKEN).increment(1);
        metrics::counter!(ABANDONED).increment(1);
        if self.statements == Statements::Unnamed {
            // Through a pooler the cancel request would go to PgBouncer,
            // which 1.18 answers by crashing ("disconnect_client(): bad
            // client state", upstream issue 801): closing the connection is
            // what the pooler handles, by dropping its server connection.
            return true;
        }
        let token = conn.client().cancel_token();
        let tls = self.tls.clone();
        tokio::spawn(async move {
            // A server that drops packets would hold the attempt for the
            // kernel's connect timeout, minutes; a cancel is worth seconds.
            let cancel = tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(tls));
            match cancel.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(error = %contract::db::describe(&error), "cancelling an abandoned statement failed")
                }
                Err(_) => tracing::warn!("cancelling an abandoned statement got no answer"),
            }
        });
        true
    }
}

type Pooled = PooledConnection<'static, Manager>;

/// How long a cancel request may take to reach the server.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// Every pool of this process (one per worker), so that a scrape answered
/// by any worker reports the process as a whole.
static POOLS: Mutex<Vec<Weak<Database>>> = Mutex::new(Vec::new());

/// Counts and logs the errors bb8 meets while opening connections.
#[derive(Debug, Clone, Copy)]
struct ErrorCounter;

impl bb8::ErrorSink<tokio_postgres::Error> for ErrorCounter {
    fn sink(&self, error: tokio_postgres::Error) {
        metrics::counter!(CONNECTION_ERRORS).increment(1);
        tracing::warn!(%error, "database connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<tokio_postgres::Error>> {
        Box::new(*self)
    }
}

/// The runtime's database: the bb8 pool and its shared lanes.
pub struct Database {
    pool: bb8::Pool<Manager>,
    statements: Statements,
    lanes: Box<[Mutex<Option<Arc<Pooled>>>]>,
    next_lane: AtomicUsize,
    timeout: Duration,
    max_size: u32,
}

/// How the pool is sized and timed.
pub struct PoolOptions {
    pub size: u32,
    pub shared: u32,
    pub timeout: Duration,
    pub statement_timeout: Duration,
    /// Extra trusted CA certificates (PEM) for TLS to PostgreSQL.
    pub ca_file: Option<PathBuf>,
    pub statements: Statements,
    /// Whether this pool counts in the `db_pool_*` metrics (the primary's
    /// pools; a replica's have metrics of their own).
    pub report: bool,
    /// A replica's pool: where its reads go when it is withdrawn.
    pub withdrawal: Option<Arc<Withdrawal>>,
}

impl Database {
    /// A pool over `url`; no connection is opened until one is needed.
    pub fn new(url: &str, options: PoolOptions) -> Result<Arc<Database>, DbError> {
        let config = client_config(url)?;
        let tls = tls_connector(options.ca_file.as_deref())?;
        let manager = Manager {
            inner: PostgresConnectionManager::new(config, tls.clone()),
            tls,
            statements: options.statements,
            statement_timeout: options.statement_timeout,
            withdrawal: options.withdrawal,
        };
        let pool = bb8::Pool::builder()
            .max_size(options.size)
            .connection_timeout(options.timeout)
            // Closed sockets are caught by `has_broken`; a round trip per
            // checkout would double the cost of a short transaction.
            .test_on_check_out(false)
            .error_sink(Box::new(ErrorCounter))
            .build_unchecked(manager);
        let lanes = (0..options.shared).map(|_| Mutex::new(None)).collect();
        let database = Arc::new(Database {
            pool,
            statements: options.statements,
            lanes,
            next_lane: AtomicUsize::new(0),
            timeout: options.timeout,
            max_size: options.size,
        });
        if options.report {
            let mut pools = lock(&POOLS);
            pools.retain(|pool| pool.strong_count() > 0);
            pools.push(Arc::downgrade(&database));
        }
        Ok(database)
    }

    /// Waits until PostgreSQL answers, for at most `patience`.
    pub async fn wait_until_ready(&self, patience: Duration) -> Result<(), DbError> {
        patiently(patience, || async {
            let conn = self.pool.dedicated_connection().await;
            let answer = match conn {
                Ok(conn) => conn.client().simple_query("SELECT 1").await.map(|_| ()),
                Err(error) => Err(error),
            };
            answer.map_err(|error| DbError::Connect(contract::db::describe(&error)))
        })
        .await
    }

    /// One row of `sql` (no parameters, unnamed: it works through a pooler
    /// too), on a pooled connection: the replica watcher's question.
    ///
    /// Counted in flight like a function's statement, so that a probe given
    /// up on (its caller's time bound) never lends its connection again.
    pub async fn probe(&self, sql: &str) -> Result<tokio_postgres::Row, DbError> {
        let conn = self.checkout().await?;
        contract::db::exactly_one(conn.query_here(sql, &[]).await?)
    }

    /// Lets go of the shared connections: a replica that stopped answering
    /// may have left them waiting on a socket nobody will answer. Requests
    /// still holding one keep it until they finish; the next use opens anew.
    pub fn reset_lanes(&self) {
        for slot in self.lanes.iter() {
            lock(slot).take();
        }
    }

    /// A connection outside the pool, for start-up work (schema).
    pub async fn dedicated(&self) -> Result<PgConn, DbError> {
        Ok(self.pool.dedicated_connection().await?)
    }

    async fn checkout(&self) -> Result<Pooled, DbError> {
        let started = Instant::now();
        let result = self.pool.get_owned().await;
        metrics::histogram!("db_pool_wait_seconds").record(started.elapsed().as_secs_f64());
        match result {
            Ok(conn) => Ok(conn),
            Err(RunError::TimedOut) => {
                metrics::counter!(GET_TIMEOUTS).increment(1);
                Err(DbError::PoolTimeout(self.timeout))
            }
            Err(RunError::User(error)) => Err(DbError::Connect(contract::db::describe(&error))),
        }
    }

    async fn lane(&self) -> Result<Arc<Pooled>, DbError> {
        let index = self.next_lane.fetch_add(1, Ordering::Relaxed) % self.lanes.len();
        let slot = &self.lanes[index];
        if let Some(conn) = lock(slot).as_ref().filter(|conn| !conn.is_closed()) {
            return Ok(conn.clone());
        }
        // The lane is empty or its connection closed: refill it from bb8.
        // Dropping the closed connection hands it back, and bb8 discards it.
        let fresh = Arc::new(self.checkout().await?);
        let mut guard = lock(slot);
        match guard.as_ref() {
            // Another request refilled the lane meanwhile; use its connection
            // and let ours go back to the pool.
            Some(current) if !current.is_closed() => Ok(current.clone()),
            _ => {
                *guard = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }
}

/// Publishes the state of every pool of the process as gauges, summed over
/// the workers (called before each scrape). The counters are counted where
/// their events happen, so they never go backwards.
pub fn export_metrics() {
    let (mut in_use, mut idle, mut max, mut pending) = (0u64, 0u64, 0u64, 0u64);
    for database in lock(&POOLS).iter().filter_map(Weak::upgrade) {
        let state = database.pool.state();
        in_use += u64::from(state.connections.saturating_sub(state.idle_connections));
        idle += u64::from(state.idle_connections);
        max += u64::from(database.max_size);
        pending += state.statistics.pending_gets();
    }
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(in_use as f64);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("db_pool_max_connections").set(max as f64);
    metrics::gauge!("db_pool_pending_requests").set(pending as f64);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A slot holds an Option<Arc>: it is consistent whatever a panicking
    // holder was doing.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DbSource for Database {
    fn shared(&self) -> BoxFuture<'_, Result<SharedLease, DbError>> {
        Box::pin(async move {
            match self.statements {
                Statements::Prepared => Ok(self.lane().await? as SharedLease),
                // A transaction-mode pooler may hand each statement of a
                // pipeline to a different server connection, and PgBouncer
                // 1.18 does not follow a pipeline through: no sharing, each
                // read gets a connection of its own.
                Statements::Unnamed => Ok(Arc::new(self.checkout().await?) as SharedLease),
            }
        })
    }

    fn exclusive(&self) -> BoxFuture<'_, Result<ExclusiveLease, DbError>> {
        Box::pin(async move {
            loop {
                let conn = self.checkout().await?;
                if !conn.is_closed() {
                    return Ok(Box::new(conn) as ExclusiveLease);
                }
                // Closed since it was returned: bb8 drops it when we let go.
            }
        })
    }
}
