//! What a statement's rows must be: `query_one`'s check, also used where a
//! caller reads rows it fetched some other way.

use tokio_postgres::Row;

use super::error::DbError;

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
