//! Why a database call failed, and the one place where that becomes a
//! problem: constraint violations are 409 or 422, an unreachable database
//! is 503, a statement cancelled by its timeout is 504, anything else is
//! logged and is a bare 500. No SQL text or server message reaches a client.

use std::time::Duration;

pub use tokio_postgres::error::SqlState;

use crate::{Problem, Rejection};

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
    #[error("{model} is read from the columns {expected}; the statement returned {got}")]
    Columns {
        model: String,
        expected: String,
        got: String,
    },
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

impl DbError {
    /// The connection broke under the statement (closed, reset), as
    /// opposed to the server refusing it: a read may go elsewhere.
    pub fn connection_lost(&self) -> bool {
        match self {
            DbError::Query(error) => {
                error.code().is_none()
                    && (error.is_closed() || std::error::Error::source(error).is_some())
            }
            _ => false,
        }
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
            DbError::RowCount { .. } | DbError::Parameters { .. } | DbError::Columns { .. } => {
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

/// A failed statement or row read, mapped as [`DbError`] is: handlers can
/// use `?` on tokio-postgres results directly.
impl From<tokio_postgres::Error> for Problem {
    fn from(error: tokio_postgres::Error) -> Problem {
        DbError::from(error).into()
    }
}

/// Errors that a retry a moment later may not meet: a conflict between
/// transactions, a server restarting or out of connections, and a write
/// that reached a server which is no longer the primary (read-only: a
/// failover demoted it, and the proxy in front is about to point at the
/// new one).
fn is_transient(code: &SqlState) -> bool {
    *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || code.code().starts_with("57P")
        || code.code().starts_with("08")
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
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
    } else if code.code().starts_with("22") {
        // Any other data exception (class 22: a timestamp, a length, an
        // encoding out of range) comes of a value the client sent.
        tracing::info!(%error, "a value the database refused");
        Problem::bad_request("a value in the request is out of the range the store accepts")
    } else if is_transient(code) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_on_a_demoted_primary_is_transient_not_a_server_error() {
        // 25006, what a primary demoted by a failover answers to a write
        // that still reaches it: the client should retry (503), not see 500.
        assert!(is_transient(&SqlState::READ_ONLY_SQL_TRANSACTION));
        assert!(is_transient(&SqlState::ADMIN_SHUTDOWN));
        assert!(!is_transient(&SqlState::UNIQUE_VIOLATION));
        assert!(!is_transient(&SqlState::SYNTAX_ERROR));
    }
}
