//! An order's status: its names in a body and in the database, and the
//! moves from one to another that the API allows.

use serde::{Deserialize, Serialize};

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
