//! The order a client asks for: the body's shape, its validation, and what
//! it comes to per product.

use std::collections::BTreeMap;

use contract::{Problem, Validator};
use serde::Deserialize;

const MAX_ITEMS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOrder {
    #[serde(deserialize_with = "contract::fields::id")]
    pub(crate) user_id: i64,
    pub(crate) items: Vec<NewItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewItem {
    #[serde(deserialize_with = "contract::fields::id")]
    pub(crate) product_id: i64,
    #[serde(deserialize_with = "contract::fields::whole")]
    pub(crate) quantity: i32,
}

/// What the body's shape cannot say: positive ids, 1 to [`MAX_ITEMS`]
/// items, each at least one unit; every fault named by its field.
pub(crate) fn validate(order: &NewOrder) -> Result<(), Problem> {
    let mut rules = Validator::new();
    rules.check(order.user_id > 0, "user_id", "must be a positive integer");
    rules.check(
        (1..=MAX_ITEMS).contains(&order.items.len()),
        "items",
        format!("must hold 1 to {MAX_ITEMS} items"),
    );
    for (i, item) in order.items.iter().enumerate() {
        rules.check(
            item.product_id > 0,
            format!("items[{i}].product_id"),
            "must be a positive integer",
        );
        rules.check(
            item.quantity >= 1,
            format!("items[{i}].quantity"),
            "must be at least 1",
        );
    }
    rules.finish()
}

/// Quantity wanted per product, in id order (the lock order).
pub(crate) fn wanted(order: &NewOrder) -> BTreeMap<i64, i64> {
    let mut wanted: BTreeMap<i64, i64> = BTreeMap::new();
    for item in &order.items {
        *wanted.entry(item.product_id).or_default() += i64::from(item.quantity);
    }
    wanted
}

/// The order as text, stored with its `Idempotency-Key`: a retry with the
/// key must ask for the same order.
pub(crate) fn fingerprint(order: &NewOrder) -> String {
    let items: Vec<String> = order
        .items
        .iter()
        .map(|item| format!("{}x{}", item.product_id, item.quantity))
        .collect();
    format!("user {}: {}", order.user_id, items.join(","))
}
