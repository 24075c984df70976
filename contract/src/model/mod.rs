//! The JSON shapes of the API's resources, read from rows.
//!
//! Each `from_row` reads columns by position, in the order its doc comment
//! lists them: looking columns up by name cost more than the rest of the
//! decoding on 50-row pages. Every statement selects them in that order, and
//! every statement is exercised by its function's tests.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;

use crate::DbError;

/// RFC 3339 in UTC with microseconds (PostgreSQL's precision), e.g.
/// `2026-01-01T00:00:00.123456Z`, written without the formatting machinery
/// chrono's own `Serialize` goes through.
pub fn timestamp<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match timestamp_text(at) {
        // Only ASCII digits and punctuation were written.
        Some(text) => serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
        None => serializer.collect_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    }
}

/// [`timestamp`]'s text, for a year from 0 to 9999 (chrono's for others).
pub(crate) fn timestamp_text(at: &DateTime<Utc>) -> Option<[u8; 27]> {
    use chrono::{Datelike, Timelike};
    // Read the fields of the naive UTC time: each accessor of a
    // `DateTime<Utc>` applies the (zero) offset again. (chrono keeps the
    // date as year and day of year, so these are cheaper than working the
    // date out from the seconds since the epoch.)
    let utc = at.naive_utc();
    let year = u32::try_from(utc.year())
        .ok()
        .filter(|year| *year <= 9999)?;
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    // Two digits at a time: half the divisions of one at a time.
    let mut pair = |at: usize, value: u32| {
        text[at] = b'0' + (value / 10) as u8;
        text[at + 1] = b'0' + (value % 10) as u8;
    };
    pair(0, year / 100);
    pair(2, year % 100);
    pair(5, utc.month());
    pair(8, utc.day());
    pair(11, utc.hour());
    pair(14, utc.minute());
    // A leap second is carried in the nanoseconds beyond 10^9.
    let nanos = utc.nanosecond();
    pair(17, utc.second() + nanos / 1_000_000_000);
    let micros = (nanos % 1_000_000_000) / 1_000;
    pair(20, micros / 10_000);
    pair(22, micros / 100 % 100);
    pair(24, micros % 100);
    Some(text)
}

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
fn check_columns(model: &str, expected: &[&str], row: &Row) -> Result<(), DbError> {
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

impl crate::Keyed for User {
    fn key(&self) -> i64 {
        self.id
    }
}

impl crate::Keyed for Product {
    fn key(&self) -> i64 {
        self.id
    }
}

impl crate::Keyed for Order {
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

/// An order's lifecycle. In a body it is one of the lowercase names, as a
/// JSON string and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<OrderStatus> {
        Some(match value {
            "pending" => OrderStatus::Pending,
            "confirmed" => OrderStatus::Confirmed,
            "shipped" => OrderStatus::Shipped,
            "delivered" => OrderStatus::Delivered,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }

    pub const EXPECTED: &'static str = "one of pending, confirmed, shipped, delivered, cancelled";

    /// pending → confirmed → shipped → delivered; pending or confirmed →
    /// cancelled. Nothing else.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Confirmed)
                | (Confirmed, Shipped)
                | (Shipped, Delivered)
                | (Pending, Cancelled)
                | (Confirmed, Cancelled)
        )
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = UnknownStatus;

    fn from_str(value: &str) -> Result<OrderStatus, UnknownStatus> {
        OrderStatus::parse(value).ok_or(UnknownStatus)
    }
}

/// A status name that is not one of [`OrderStatus`]'s.
#[derive(Debug, thiserror::Error)]
#[error("must be {}", OrderStatus::EXPECTED)]
pub struct UnknownStatus;

impl<'de> Deserialize<'de> for OrderStatus {
    /// A string only: serde's derived enum would also take `{"cancelled":
    /// null}`, and serde_json reports a number there as a syntax error.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = OrderStatus;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a string, {}", OrderStatus::EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OrderStatus, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderItem {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i32,
    #[serde(serialize_with = "crate::money::serialize")]
    pub price: Decimal,
    #[serde(serialize_with = "crate::money::serialize")]
    pub subtotal: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub user_id: i64,
    pub status: OrderStatus,
    #[serde(serialize_with = "crate::money::serialize")]
    pub total_amount: Decimal,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
    pub items: Vec<OrderItem>,
}

impl crate::json::WriteJson for OrderItem {
    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::json;
        out.extend_from_slice(b"{\"id\":");
        json::integer(out, self.id);
        out.extend_from_slice(b",\"product_id\":");
        json::integer(out, self.product_id);
        out.extend_from_slice(b",\"quantity\":");
        json::integer(out, self.quantity);
        out.extend_from_slice(b",\"price\":");
        json::money(out, &self.price);
        out.extend_from_slice(b",\"subtotal\":");
        json::money(out, &self.subtotal);
        out.push(b'}');
    }
}

impl crate::json::WriteJson for Order {
    const SIZE_HINT: usize = 512;

    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::json;
        out.extend_from_slice(b"{\"id\":");
        json::integer(out, self.id);
        out.extend_from_slice(b",\"user_id\":");
        json::integer(out, self.user_id);
        out.extend_from_slice(b",\"status\":");
        json::string(out, self.status.as_str());
        out.extend_from_slice(b",\"total_amount\":");
        json::money(out, &self.total_amount);
        out.extend_from_slice(b",\"created_at\":");
        json::timestamp(out, &self.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        json::timestamp(out, &self.updated_at);
        out.extend_from_slice(b",\"items\":");
        self.items.write_json(out);
        out.push(b'}');
    }
}

impl Order {
    /// One order with its items, in the shape [`Order::from_rows`] reads;
    /// `$1` is the order's id. Shared, since several functions answer with
    /// an order as it is now.
    pub const SELECT_BY_ID: &'static str = "SELECT o.id, o.user_id, o.status, o.total_amount,
            o.created_at, o.updated_at, i.id AS item_id, i.product_id, i.quantity, i.price
        FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
        WHERE o.id = $1 ORDER BY i.id";

    /// The columns [`Order::from_rows`] reads, by position.
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "user_id",
        "status",
        "total_amount",
        "created_at",
        "updated_at",
        "item_id",
        "product_id",
        "quantity",
        "price",
    ];

    /// The one order `rows` hold (a statement by id that found it); a
    /// server error if they hold none, since the caller knows it exists.
    pub fn one(rows: &[Row]) -> Result<Order, crate::Problem> {
        Order::from_rows(rows)?
            .pop()
            .ok_or_else(crate::Problem::internal)
    }

    /// Orders from rows of an order joined with its items, one row per item
    /// (or one row with NULL item columns for an order without items),
    /// ordered by order then item, in the columns of [`Order::COLUMNS`].
    pub fn from_rows(rows: &[Row]) -> Result<Vec<Order>, DbError> {
        if let Some(first) = rows.first() {
            check_columns("Order", Order::COLUMNS, first)?;
        }
        let mut orders: Vec<Order> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get(0)?;
            if orders.last().map(|order| order.id) != Some(id) {
                orders.push(Order {
                    id,
                    user_id: row.try_get(1)?,
                    status: OrderStatus::parse(row.try_get(2)?).ok_or_else(|| {
                        DbError::Columns {
                            model: "Order".into(),
                            expected: OrderStatus::EXPECTED.into(),
                            got: "another status".into(),
                        }
                    })?,
                    total_amount: row.try_get::<_, crate::money::Numeric>(3)?.0,
                    created_at: row.try_get(4)?,
                    updated_at: row.try_get(5)?,
                    items: Vec::new(),
                });
            }
            if let Some(item_id) = row.try_get::<_, Option<i64>>(6)? {
                let quantity: i32 = row.try_get(8)?;
                let price = row.try_get::<_, crate::money::Numeric>(9)?.0;
                let item = OrderItem {
                    id: item_id,
                    product_id: row.try_get(7)?,
                    quantity,
                    price,
                    subtotal: price * Decimal::from(quantity),
                };
                if let Some(order) = orders.last_mut() {
                    order.items.push(item);
                }
            }
        }
        Ok(orders)
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;

    /// Each value, and all of them as an array, written by hand and by
    /// serde's derive: the same bytes.
    fn writes_what_the_derive_writes<T: crate::json::WriteJson + serde::Serialize>(values: &[T]) {
        for one in values {
            assert_eq!(
                String::from_utf8(crate::json::to_vec(one)).unwrap(),
                serde_json::to_string(one).unwrap()
            );
        }
        assert_eq!(
            String::from_utf8(crate::json::array(values)).unwrap(),
            serde_json::to_string(values).unwrap()
        );
        assert_eq!(crate::json::array::<T>(&[]), b"[]");
    }

    /// An ordinary instant, and one past the year 9999 (chrono's own text).
    fn instants() -> [chrono::DateTime<chrono::Utc>; 2] {
        use chrono::TimeZone;
        [
            chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
                + chrono::Duration::microseconds(67),
            chrono::Utc.with_ymd_and_hms(12_000, 1, 1, 0, 0, 0).unwrap(),
        ]
    }

    const AWKWARD: &str = "quote \" back\\slash \u{1} tab\t é ☃";

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

    #[test]
    fn an_order_writes_what_the_derive_writes() {
        let [at, far] = instants();
        let item = |id: i64, quantity: i32, price: &str| {
            let price: rust_decimal::Decimal = price.parse().unwrap();
            super::OrderItem {
                id,
                product_id: id * 7,
                quantity,
                price,
                subtotal: price * rust_decimal::Decimal::from(quantity),
            }
        };
        let order = |status, total: &str, items| super::Order {
            id: 9,
            user_id: 1,
            status,
            total_amount: total.parse().unwrap(),
            created_at: at,
            updated_at: far,
            items,
        };
        writes_what_the_derive_writes(&[
            order(Pending, "0.00", Vec::new()),
            order(
                Cancelled,
                "9999999999.99",
                vec![
                    item(1, 1, "0.10"),
                    item(2, 3, "19.99"),
                    item(3, 1000, "99999999.99"),
                ],
            ),
        ]);
    }

    #[test]
    fn timestamp_text_is_chronos_own() {
        use chrono::TimeZone;
        let mut at = chrono::Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap();
        let end = chrono::Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .unwrap();
        // Some 1,800 instants over every year, each at a different time of day.
        let step = chrono::Duration::seconds(175_316_789) + chrono::Duration::microseconds(1_234);
        while at <= end {
            let ours = super::timestamp_text(&at).unwrap();
            let chronos = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            assert_eq!(std::str::from_utf8(&ours).unwrap(), chronos);
            at += step;
        }
        assert!(super::timestamp_text(&(end + chrono::Duration::seconds(1))).is_none());
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        use chrono::TimeZone;
        #[derive(serde::Serialize)]
        struct At(#[serde(serialize_with = "super::timestamp")] chrono::DateTime<chrono::Utc>);
        let at = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(67);
        assert_eq!(
            serde_json::to_string(&At(at)).unwrap(),
            "\"2026-01-02T03:04:05.000067Z\""
        );
        let parsed: chrono::DateTime<chrono::Utc> = "2026-11-26T01:31:27.760594Z".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&At(parsed)).unwrap(),
            "\"2026-11-26T01:31:27.760594Z\""
        );
        let round = chrono::DateTime::parse_from_rfc3339("2026-12-31T23:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            serde_json::to_string(&At(round)).unwrap(),
            "\"2026-12-31T23:59:59.000000Z\""
        );
    }

    #[test]
    fn status_moves() {
        assert!(Pending.can_become(Confirmed));
        assert!(Confirmed.can_become(Cancelled));
        assert!(!Shipped.can_become(Cancelled));
        assert!(!Delivered.can_become(Pending));
        assert!(!Pending.can_become(Pending));
        assert!(!Cancelled.can_become(Confirmed));
    }
}
