//! Database access as a function sees it.
//!
//! Two kinds of connection, both from the runtime's bb8 pool:
//!
//! - [`Shared`]: a connection that many requests use at once. tokio-postgres
//!   pipelines their statements on the one socket, so concurrent reads cost
//!   no pool checkout and no extra round trip. **Reads only**: under MVCC a
//!   plain `SELECT` never waits on a row lock, but a write can, and every
//!   statement queued behind it on the socket would wait too.
//! - [`Reader`]: for a read whose cost depends on its input ([`ReadCost`]),
//!   a connection of its own, so that one slow search never stalls the
//!   reads queued behind it on a shared connection.
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

mod conn;
mod error;
mod fallback;
mod lease;
mod params;
mod rows;
mod withdrawal;

pub use tokio_postgres::types::{ToSql, Type};
pub use tokio_postgres::Row;

pub use conn::{PgConn, StatementCache, Statements, Tx};
pub use error::{describe, DbError, SqlState};
pub use fallback::Fallback;
pub use lease::{Db, DbSource, Exclusive, ExclusiveLease, ReadCost, Reader, Shared, SharedLease};
pub use params::Params;
pub use rows::exactly_one;
pub use withdrawal::Withdrawal;
