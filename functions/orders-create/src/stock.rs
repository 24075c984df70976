//! The products an order names, checked against it: each exists and has
//! the stock, and the order priced at their prices; and, for an order the
//! one statement refused, the problem that says why.

use std::collections::BTreeMap;

use contract::db::Row;
use contract::{Decimal, FieldError, Problem};

use crate::new_order::NewOrder;

/// The errors by which [`PLACE`](crate::statements::PLACE) refuses an order it cannot take.
pub(crate) fn refused(error: &contract::DbError) -> bool {
    use contract::db::SqlState;
    [
        SqlState::CHECK_VIOLATION,
        SqlState::NOT_NULL_VIOLATION,
        SqlState::FOREIGN_KEY_VIOLATION,
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
    ]
    .iter()
    .any(|state| error.code() == Some(state))
}

/// The problem for a refused order, as the checks of the keyed path would
/// have put it. If nothing is wrong any more (stock came back between the
/// two statements), the client may simply retry.
pub(crate) fn why_refused(
    order: &NewOrder,
    wanted: &BTreeMap<i64, i64>,
    checked: &[Row],
) -> Problem {
    let user_exists = checked
        .first()
        .is_some_and(|row| matches!(row.try_get::<_, bool>(3), Ok(true)));
    if !user_exists {
        return no_such_user(order.user_id);
    }
    let found: Vec<&Row> = checked
        .iter()
        .filter(|row| matches!(row.try_get::<_, Option<i64>>(0), Ok(Some(_))))
        .collect();
    match price(order, wanted, &found) {
        Err(problem) => problem,
        Ok(_) => Problem::conflict("the stock changed while the order was placed; retry"),
    }
}

/// Each item's unit price and the order's total.
pub(crate) struct Priced {
    pub(crate) item_prices: Vec<Decimal>,
    pub(crate) total: Decimal,
}

/// Checks the locked products (`id, price, stock_quantity`) against the
/// order: each exists (else 422 naming the item) and has the stock (else
/// 409 naming each short product); then prices the items at the locked
/// prices and sums the total, which must fit the column.
pub(crate) fn price(
    order: &NewOrder,
    wanted: &BTreeMap<i64, i64>,
    locked: &[&Row],
) -> Result<Priced, Problem> {
    let mut prices: BTreeMap<i64, Decimal> = BTreeMap::new();
    let mut short = Vec::new();
    for row in locked {
        let id: i64 = row.try_get(0)?;
        let stock: i32 = row.try_get(2)?;
        let want = wanted.get(&id).copied().unwrap_or_default();
        if i64::from(stock) < want {
            short.push(format!("product {id}: {stock} available, {want} requested"));
        }
        prices.insert(id, row.try_get(1)?);
    }
    let missing: Vec<FieldError> = order
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !prices.contains_key(&item.product_id))
        .map(|(i, item)| {
            FieldError::new(
                format!("items[{i}].product_id"),
                format!("product {} does not exist", item.product_id),
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(Problem::unprocessable(missing));
    }
    if !short.is_empty() {
        return Err(Problem::conflict(format!(
            "insufficient stock: {}",
            short.join("; ")
        )));
    }
    let item_prices: Vec<Decimal> = order
        .items
        .iter()
        .map(|item| prices[&item.product_id])
        .collect();
    let total: Decimal = order
        .items
        .iter()
        .zip(&item_prices)
        .map(|(item, price)| price * Decimal::from(item.quantity))
        .sum();
    if total > contract::money::MAX_TOTAL {
        return Err(Problem::invalid_field(
            "items",
            "the order total is above 9999999999.99",
        ));
    }
    Ok(Priced { item_prices, total })
}

pub(crate) fn no_such_user(id: i64) -> Problem {
    Problem::invalid_field("user_id", format!("user {id} does not exist"))
}
