//! A product as the API shows it: its JSON, and how it is read from a row.
//!
//! Its columns are listed once, in [`Product`]'s [`FromRow::COLUMNS`]:
//! every statement that returns a product selects them in that order, and
//! [`FromRow::from_row`] checks that it did.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_postgres::Row;

use super::{timestamp, FromRow};
use crate::DbError;

impl crate::Keyed for Product {
    fn key(&self) -> i64 {
        self.id
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    #[serde(serialize_with = "crate::money::serialize")]
    pub price: Decimal,
    pub stock_quantity: i32,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// Product `$1`'s version (its `updated_at`), for [`crate::etag::unwritten`].
    pub const VERSION: &'static str = "SELECT updated_at FROM products WHERE id = $1";
}

impl crate::json::WriteJson for Product {
    /// About 230 bytes as the sample data has them.
    const SIZE_HINT: usize = 256;

    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::json;
        out.extend_from_slice(b"{\"id\":");
        json::integer(out, self.id);
        out.extend_from_slice(b",\"name\":");
        json::string(out, &self.name);
        out.extend_from_slice(b",\"description\":");
        json::optional_string(out, self.description.as_deref());
        out.extend_from_slice(b",\"price\":");
        json::money(out, &self.price);
        out.extend_from_slice(b",\"stock_quantity\":");
        json::integer(out, self.stock_quantity);
        out.extend_from_slice(b",\"created_at\":");
        json::timestamp(out, &self.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        json::timestamp(out, &self.updated_at);
        out.push(b'}');
    }
}

impl FromRow for Product {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "description",
        "price",
        "stock_quantity",
        "created_at",
        "updated_at",
    ];

    fn read(row: &Row) -> Result<Product, DbError> {
        Ok(Product {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            description: row.try_get(2)?,
            price: row.try_get::<_, crate::money::Numeric>(3)?.0,
            stock_quantity: row.try_get(4)?,
            created_at: row.try_get(5)?,
            updated_at: row.try_get(6)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::same_as_derive::{instants, writes_what_the_derive_writes, AWKWARD};

    #[test]
    fn a_product_writes_what_the_derive_writes() {
        let [at, far] = instants();
        let product = |name: &str, description: Option<&str>, price: &str| super::Product {
            id: 42,
            name: name.to_owned(),
            description: description.map(str::to_owned),
            price: price.parse().unwrap(),
            stock_quantity: -3,
            created_at: at,
            updated_at: far,
        };
        writes_what_the_derive_writes(&[
            product("Laptop", Some("15 inch"), "999.99"),
            product(AWKWARD, None, "10.00"),
            product("", Some(""), "0.10"),
            product("Big", Some("x"), "9999999999.99"),
        ]);
    }
}
