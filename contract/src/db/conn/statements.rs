//! How statements reach the server, as [`Statements`] says: prepared once
//! per connection, or unnamed with their parameter types; and the cache of
//! either on one connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{GenericClient, Statement};

use crate::db::error::DbError;
use crate::db::params::Params;

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
    pub(super) async fn get<C: GenericClient + Sync>(
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
    pub(super) async fn types<C: GenericClient + Sync>(
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
pub(super) fn typed<'a>(
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

/// A statement ready to run: prepared, or its parameters beside their types.
pub(super) enum Ready<'p> {
    Prepared(Statement),
    Typed(Vec<(&'p (dyn ToSql + Sync), Type)>),
}
