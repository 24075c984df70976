//! [`FromRow`]: how a model is read from a statement's rows, by position,
//! against the one list of its columns the model keeps.

use tokio_postgres::Row;

use crate::DbError;

/// A resource read from a row by position (measured faster than by name),
/// against one list of its columns: the statement's columns are compared
/// with [`FromRow::COLUMNS`] once per call, so a `RETURNING` that lists two
/// TEXT columns the other way round is an error, never a swapped field.
pub trait FromRow: Sized {
    /// The columns `read` takes, in order.
    const COLUMNS: &'static [&'static str];

    /// One row, by position; see [`FromRow::from_row`] for the checked way.
    fn read(row: &Row) -> Result<Self, DbError>;

    /// One row, its columns checked.
    fn from_row(row: &Row) -> Result<Self, DbError> {
        check_columns(std::any::type_name::<Self>(), Self::COLUMNS, row)?;
        Self::read(row)
    }

    /// Every row, the columns checked once (all rows of a statement share them).
    fn from_rows(rows: &[Row]) -> Result<Vec<Self>, DbError> {
        if let Some(first) = rows.first() {
            check_columns(std::any::type_name::<Self>(), Self::COLUMNS, first)?;
        }
        rows.iter().map(Self::read).collect()
    }
}

/// An error unless `row`'s columns are `expected`, by name and in order.
pub(super) fn check_columns(model: &str, expected: &[&str], row: &Row) -> Result<(), DbError> {
    let got = row.columns();
    let same = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(column, name)| column.name() == *name);
    if same {
        return Ok(());
    }
    Err(DbError::Columns {
        model: model.rsplit("::").next().unwrap_or(model).to_owned(),
        expected: expected.join(", "),
        got: got.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
    })
}
