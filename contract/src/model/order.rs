//! An order with its items as the API shows it: its JSON, the statement
//! that reads one by id, and how orders are read from rows of an order
//! joined with its items.
//!
//! Its columns are listed once, in [`Order::COLUMNS`]: every statement that
//! returns orders selects them in that order, and [`Order::from_rows`]
//! checks that it did.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_postgres::Row;

use super::from_row::check_columns;
use super::{timestamp, OrderStatus};
use crate::DbError;

impl crate::Keyed for Order {
    fn key(&self) -> i64 {
        self.id
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
    use super::super::same_as_derive::{instants, writes_what_the_derive_writes};
    use super::OrderStatus::*;

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
}
