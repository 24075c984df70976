//! The calls a function makes on a connection or in a transaction
//! (`query`, `query_opt`, `query_one`, `execute`), written once for both:
//! each is counted in flight until its answer is read, and a read on a
//! withdrawn replica's connection goes to the primary.

use tokio_postgres::Row;

use super::statements::{typed, Ready, Statements};
use super::tx::Tx;
use super::PgConn;
use crate::db::error::DbError;
use crate::db::fallback::taken_over;
use crate::db::params::Params;
use crate::db::rows::exactly_one;
use crate::trace;

/// The statement helpers, once for connections and transactions alike.
/// Each call is counted in flight until its answer is read.
macro_rules! statement_helpers {
    ($ty:ty, $client:ident, $in_transaction:expr) => {
        impl $ty {
            /// `sql` ready to run as the connection's mode says.
            pub(super) async fn ready<'p>(
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
                        () = taken_over(withdrawal) => withdrawal.query(sql, params).await,
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

statement_helpers!(PgConn, client, false);
statement_helpers!(Tx<'_>, tx, true);
