//! A user as the API shows it: its JSON, and how it is read from a row.
//!
//! Its columns are listed once, in [`User`]'s [`FromRow::COLUMNS`]: every
//! statement that returns a user selects them in that order, and
//! [`FromRow::from_row`] checks that it did.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;

use super::{timestamp, FromRow};
use crate::DbError;

impl crate::Keyed for User {
    fn key(&self) -> i64 {
        self.id
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// User `$1`'s version (its `updated_at`), for [`crate::etag::unwritten`].
    pub const VERSION: &'static str = "SELECT updated_at FROM users WHERE id = $1";

    /// Whether user `$1` exists: one row, one boolean.
    pub const EXISTS: &'static str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";

    /// The unique constraints, and the field each guards.
    pub const UNIQUE: &'static [(&'static str, &'static str)] = &[
        ("users_username_key", "username"),
        ("users_email_key", "email"),
        // sql/03: the address regardless of case.
        ("users_email_lower_key", "email"),
    ];
}

impl crate::json::WriteJson for User {
    const SIZE_HINT: usize = 160;

    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::json;
        out.extend_from_slice(b"{\"id\":");
        json::integer(out, self.id);
        out.extend_from_slice(b",\"username\":");
        json::string(out, &self.username);
        out.extend_from_slice(b",\"email\":");
        json::string(out, &self.email);
        out.extend_from_slice(b",\"created_at\":");
        json::timestamp(out, &self.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        json::timestamp(out, &self.updated_at);
        out.push(b'}');
    }
}

impl FromRow for User {
    const COLUMNS: &'static [&'static str] =
        &["id", "username", "email", "created_at", "updated_at"];

    fn read(row: &Row) -> Result<User, DbError> {
        Ok(User {
            id: row.try_get(0)?,
            username: row.try_get(1)?,
            email: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::same_as_derive::{instants, writes_what_the_derive_writes, AWKWARD};

    #[test]
    fn a_user_writes_what_the_derive_writes() {
        let [at, far] = instants();
        let user = |username: &str, email: &str| super::User {
            id: i64::MAX,
            username: username.to_owned(),
            email: email.to_owned(),
            created_at: at,
            updated_at: far,
        };
        writes_what_the_derive_writes(&[user("ada", "ada@example.com"), user(AWKWARD, "")]);
    }
}
