//! One PostgreSQL connection as a function uses it: its statements (sent as
//! [`Statements`] says, prepared or unnamed, and cached), the calls in
//! flight on it, and its transactions.
//!
//! By concern: [`statements`] says how a statement is sent and caches it,
//! [`tx`] is a transaction, [`calls`] the statement calls both share; this
//! file is the connection itself and the calls in flight on it.

mod calls;
mod in_flight;
mod statements;
mod tx;

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

use super::error::DbError;
use super::fallback::{taken_over, Fallback};
use crate::trace;

use in_flight::InFlight;
pub use statements::{StatementCache, Statements};
pub use tx::Tx;

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
    withdrawal: Option<Arc<dyn Fallback>>,
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
    /// the replica is taken out of rotation; see [`super::Withdrawal`].
    pub fn with_withdrawal(mut self, withdrawal: Arc<dyn Fallback>) -> PgConn {
        self.withdrawal = Some(withdrawal);
        self
    }

    fn withdrawal(&self) -> Option<&dyn Fallback> {
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
                () = taken_over(withdrawal) => withdrawal.query_planned(sql, params).await,
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
