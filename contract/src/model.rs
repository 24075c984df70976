//! The JSON shapes of the API's resources, read from rows.
//!
//! Each `from_row` reads columns by name, so a statement only has to select
//! the columns listed on the type, in any order.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;

use crate::DbError;

/// A resource read from one row.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, DbError>;
}

/// Every row as `T`.
pub fn all<T: FromRow>(rows: &[Row]) -> Result<Vec<T>, DbError> {
    rows.iter().map(T::from_row).collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The unique constraints, and the field each guards.
    pub const UNIQUE: &'static [(&'static str, &'static str)] = &[
        ("users_username_key", "username"),
        ("users_email_key", "email"),
    ];
}

impl FromRow for User {
    /// Columns: id, username, email, created_at, updated_at.
    fn from_row(row: &Row) -> Result<User, DbError> {
        Ok(User {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Product {
    /// Columns: id, name, description, price, stock_quantity, created_at, updated_at.
    fn from_row(row: &Row) -> Result<Product, DbError> {
        Ok(Product {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            price: row.try_get("price")?,
            stock_quantity: row.try_get("stock_quantity")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// An order's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub status: String,
    #[serde(serialize_with = "crate::money::serialize")]
    pub total_amount: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<OrderItem>,
}

impl Order {
    /// One order with its items, in the shape [`Order::from_rows`] reads;
    /// `$1` is the order's id. Shared, since several functions answer with
    /// an order as it is now.
    pub const SELECT_BY_ID: &'static str = "SELECT o.id, o.user_id, o.status, o.total_amount,
            o.created_at, o.updated_at, i.id AS item_id, i.product_id, i.quantity, i.price
        FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
        WHERE o.id = $1 ORDER BY i.id";

    /// Orders from rows of an order joined with its items, one row per item
    /// (or one row with NULL item columns for an order without items),
    /// ordered by order then item. Columns: id, user_id, status,
    /// total_amount, created_at, updated_at, item_id, product_id, quantity,
    /// price.
    pub fn from_rows(rows: &[Row]) -> Result<Vec<Order>, DbError> {
        let mut orders: Vec<Order> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            if orders.last().map(|order| order.id) != Some(id) {
                orders.push(Order {
                    id,
                    user_id: row.try_get("user_id")?,
                    status: row.try_get("status")?,
                    total_amount: row.try_get("total_amount")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    items: Vec::new(),
                });
            }
            if let Some(item_id) = row.try_get::<_, Option<i64>>("item_id")? {
                let quantity: i32 = row.try_get("quantity")?;
                let price: Decimal = row.try_get("price")?;
                let item = OrderItem {
                    id: item_id,
                    product_id: row.try_get("product_id")?,
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
