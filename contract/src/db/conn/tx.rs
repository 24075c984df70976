//! An open transaction on an exclusive connection: commit, rollback, and
//! a last statement with its COMMIT in one round trip.

use tokio_postgres::{Row, Transaction};

use super::in_flight::InFlight;
use super::statements::{Ready, StatementCache, Statements};
use crate::db::error::DbError;
use crate::db::fallback::Fallback;
use crate::db::params::Params;
use crate::trace;

/// An open transaction on an [`Exclusive`] connection.
pub struct Tx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) statements: &'a StatementCache,
    pub(super) in_flight: &'a InFlight,
    pub(super) mode: Statements,
}

impl Tx<'_> {
    /// Never: a transaction is always the primary's.
    pub(super) fn withdrawal(&self) -> Option<&dyn Fallback> {
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
