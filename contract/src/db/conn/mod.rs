//! One PostgreSQL connection as a function uses it: its statements (sent as
//! [`Statements`] says, prepared or unnamed, and cached), the calls in
//! flight on it, and its transactions.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, GenericClient, Row, Statement, Transaction};

use super::{DbError, Params, Withdrawal};
use crate::trace;

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
    /// A replica's connection: where its reads go if it is withdrawn.
    withdrawal: Option<Arc<Withdrawal>>,
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
            withdrawal: None,
        }
    }

    /// A replica's connection, whose waiting reads go to the primary when
    /// the replica is taken out of rotation; see [`Withdrawal`].
    pub fn with_withdrawal(mut self, withdrawal: Arc<Withdrawal>) -> PgConn {
        self.withdrawal = Some(withdrawal);
        self
    }

    fn withdrawal(&self) -> Option<&Withdrawal> {
        self.withdrawal.as_deref()
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

    /// [`PgConn::query_planned`] on this very connection, even when it is
    /// a withdrawn replica's: for the watcher that asks the replica itself.
    pub async fn query_here(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, DbError> {
        let call = async { Ok(self.client.query_typed(sql, params).await?) };
        self.in_flight.track(trace::statement(sql, call)).await
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
        let run = self.query_here(sql, params);
        match self.withdrawal() {
            None => run.await,
            Some(withdrawal) => tokio::select! {
                rows = run => match rows {
                    Err(error) if error.connection_lost() => withdrawal.query_planned(sql, params).await,
                    rows => rows,
                },
                () = withdrawal.withdrawn() => withdrawal.query_planned(sql, params).await,
            },
        }
    }

    /// BEGIN. Dropping the [`Tx`] without committing rolls back, so a
    /// handler stopped by its time limit leaves nothing half-written.
    pub async fn transaction(&mut self) -> Result<Tx<'_>, DbError> {
        let begin = trace::statement("BEGIN", self.client.transaction());
        let tx = self.in_flight.track(begin).await?;
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
    /// Never: a transaction is always the primary's.
    fn withdrawal(&self) -> Option<&Withdrawal> {
        None
    }

    pub async fn commit(self) -> Result<(), DbError> {
        let in_flight = self.in_flight;
        Ok(in_flight
            .track(trace::statement("COMMIT", self.tx.commit()))
            .await?)
    }

    pub async fn rollback(self) -> Result<(), DbError> {
        let in_flight = self.in_flight;
        Ok(in_flight
            .track(trace::statement("ROLLBACK", self.tx.rollback()))
            .await?)
    }

    /// The rows of a last statement, with COMMIT sent right behind it: one
    /// round trip where `query` then `commit` take two. If the statement
    /// fails, the server ends the failed transaction at that COMMIT by
    /// rolling it back: the error is the statement's, and nothing is written.
    pub async fn query_and_commit(
        self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, DbError> {
        // Prepared (or typed) first: only then does each call below put its
        // messages on the wire at its first poll, the statement's before
        // the COMMIT. (A statement still to prepare would wait for its
        // Parse, and the COMMIT would overtake it.)
        let ready = self.ready(sql, params).await?;
        let Tx { tx, in_flight, .. } = self;
        let client = tx.client();
        let statement = async {
            match ready {
                Ready::Prepared(statement) => client.query(&statement, params).await,
                Ready::Typed(typed) => client.query_typed(sql, &typed).await,
            }
        };
        let (rows, committed) = in_flight
            .track(futures_util::future::join(
                trace::statement(sql, statement),
                trace::statement("COMMIT", client.batch_execute("COMMIT")),
            ))
            .await;
        // COMMIT went out: the transaction's drop must not send a ROLLBACK
        // behind it (which the server would answer with a warning). It holds
        // a borrow of the client and no savepoint, so nothing is leaked.
        std::mem::forget(tx);
        let rows = rows?;
        committed?;
        Ok(rows)
    }
}

/// The statement helpers, once for connections and transactions alike.
/// Each call is counted in flight until its answer is read.
macro_rules! statement_helpers {
    ($ty:ty, $client:ident, $in_transaction:expr) => {
        impl $ty {
            /// `sql` ready to run as the connection's mode says.
            async fn ready<'p>(
                &self,
                sql: &'static str,
                params: Params<'p>,
            ) -> Result<Ready<'p>, DbError> {
                Ok(match self.mode {
                    Statements::Prepared => {
                        Ready::Prepared(self.statements.get(&self.$client, sql).await?)
                    }
                    Statements::Unnamed => {
                        let types = self
                            .statements
                            .types(&self.$client, sql, $in_transaction)
                            .await?;
                        Ready::Typed(typed(params, &types)?)
                    }
                })
            }

            /// All rows of a statement.
            pub async fn query(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<Vec<Row>, DbError> {
                let call = async {
                    Ok(match self.ready(sql, params).await? {
                        Ready::Prepared(statement) => {
                            self.$client.query(&statement, params).await?
                        }
                        Ready::Typed(typed) => self.$client.query_typed(sql, &typed).await?,
                    })
                };
                let run = self.in_flight.track(trace::statement(sql, call));
                match self.withdrawal() {
                    None => run.await,
                    Some(withdrawal) => tokio::select! {
                        rows = run => match rows {
                            Err(error) if error.connection_lost() => withdrawal.query(sql, params).await,
                            rows => rows,
                        },
                        () = withdrawal.withdrawn() => withdrawal.query(sql, params).await,
                    },
                }
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
                exactly_one(self.query(sql, params).await?)
            }

            /// The number of rows changed.
            pub async fn execute(
                &self,
                sql: &'static str,
                params: Params<'_>,
            ) -> Result<u64, DbError> {
                let call = async {
                    Ok(match self.ready(sql, params).await? {
                        Ready::Prepared(statement) => {
                            self.$client.execute(&statement, params).await?
                        }
                        Ready::Typed(typed) => self.$client.execute_typed(sql, &typed).await?,
                    })
                };
                self.in_flight.track(trace::statement(sql, call)).await
            }
        }
    };
}

/// The one row of `rows`, or the error that says how many there were.
pub fn exactly_one(mut rows: Vec<Row>) -> Result<Row, DbError> {
    match rows.len() {
        1 => Ok(rows.remove(0)),
        got => Err(DbError::RowCount {
            expected: "exactly one",
            got,
        }),
    }
}

/// A statement ready to run: prepared, or its parameters beside their types.
enum Ready<'p> {
    Prepared(Statement),
    Typed(Vec<(&'p (dyn ToSql + Sync), Type)>),
}

statement_helpers!(PgConn, client, false);
statement_helpers!(Tx<'_>, tx, true);
