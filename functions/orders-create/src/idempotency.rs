//! An order with an `Idempotency-Key`: one transaction, three round trips.
//! BEGIN; the key's lock; the idempotency lookup, and the user check with
//! the product locks, pipelined together; one statement that decrements
//! stock and inserts the order and its items at the locked prices, with
//! COMMIT behind it.
//!
//! The key is stored with the order (unique): a retry finds the first
//! order and returns it as it is now (201, `Idempotent-Replayed: true`). A
//! duplicate that arrives while the first is still running waits for it on
//! a transaction-scoped advisory lock on the key, taken before anything is
//! read, so it sees the first's outcome: its order if it committed, nothing
//! if it failed (and then runs as a new request). It never sees the stock
//! its twin took.

use contract::db::Row;
use contract::model::Order;
use contract::{header, Db, HeaderValue, Outcome, Problem, Request};

use crate::new_order::{fingerprint, wanted, NewOrder};
use crate::statements::{CHECK_AND_LOCK, CREATE, FIND_BY_KEY, LOCK_KEY};
use crate::stock::{no_such_user, price};

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub(crate) fn idempotency_key(req: &Request) -> Result<Option<&str>, Problem> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key))
        }
        _ => Err(Problem::bad_request(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// `order`, made once for `key`: the first order made with it if there is
/// one, else a new one.
pub(crate) async fn place_once(req: &Request, order: &NewOrder, key: &str) -> Outcome {
    // What the key stands for: a retry must ask for the same order.
    let fingerprint = Some(fingerprint(order));
    let wanted = wanted(order);
    let product_ids: Vec<i64> = wanted.keys().copied().collect();

    let mut conn = req.db().exclusive().await?;
    let tx = conn.transaction().await?;
    // The key's lock is held before anything else is read or locked: its
    // own round trip, since a statement prepared on first use may reach
    // the server after the ones pipelined beside it, and a product lock
    // taken before the key's would deadlock with the twin holding the key.
    tx.execute(LOCK_KEY, &[&key]).await?;
    let (earlier, checked) =
        tokio::try_join!(async { tx.query_opt(FIND_BY_KEY, &[&key]).await }, async {
            tx.query(CHECK_AND_LOCK, &[&product_ids, &order.user_id])
                .await
        },)?;
    if let Some(earlier) = earlier {
        tx.rollback().await?;
        return replay(req.db(), &earlier, fingerprint).await;
    }
    let user_exists = match checked.first() {
        Some(row) => row.try_get::<_, bool>(3)?,
        None => false,
    };
    if !user_exists {
        return Err(no_such_user(order.user_id));
    }
    let locked: Vec<&Row> = checked
        .iter()
        .filter(|row| matches!(row.try_get::<_, Option<i64>>(0), Ok(Some(_))))
        .collect();
    let priced = price(order, &wanted, &locked)?;

    // Each total fits an INTEGER: it is at most the stock it was checked against.
    let wanted_quantities: Vec<i32> = wanted.values().map(|q| *q as i32).collect();
    let item_products: Vec<i64> = order.items.iter().map(|item| item.product_id).collect();
    let item_quantities: Vec<i32> = order.items.iter().map(|item| item.quantity).collect();
    let params: [&(dyn contract::db::ToSql + Sync); 9] = [
        &order.user_id,
        &priced.total,
        &product_ids,
        &wanted_quantities,
        &key,
        &fingerprint,
        &item_products,
        &item_quantities,
        &priced.item_prices,
    ];
    // The writes and COMMIT in one round trip; a failed statement rolls
    // back there.
    let rows = match tx.query_and_commit(CREATE, &params).await {
        Ok(rows) => rows,
        Err(error) if error.constraint() == Some("orders_idempotency_key_key") => {
            // A concurrent request with the same key committed first.
            let earlier = req
                .db()
                .fresh()
                .await?
                .query_one(FIND_BY_KEY, &[&key])
                .await?;
            return replay(req.db(), &earlier, fingerprint).await;
        }
        // The user was deleted after the check above (users are not locked).
        Err(error) if error.constraint() == Some("orders_user_id_fkey") => {
            return Err(no_such_user(order.user_id))
        }
        Err(error) => return Err(error.into()),
    };
    Ok(crate::created(&Order::one(&rows)?))
}

/// The first order made with this key, as it is now; 422 when the key was
/// first used for a different order.
async fn replay(db: &Db, earlier: &Row, now: Option<String>) -> Outcome {
    // FIND_BY_KEY's columns: request_fingerprint, id.
    let first: Option<String> = earlier.try_get(0)?;
    let id: i64 = earlier.try_get(1)?;
    if first != now {
        return Err(Problem {
            detail: "the Idempotency-Key header was already used for a different order".into(),
            ..Problem::invalid_field("Idempotency-Key", "was already used for a different order")
        });
    }
    // Fresh: the order was committed a moment ago, maybe not yet on a replica.
    let rows = db.fresh().await?.query(Order::SELECT_BY_ID, &[&id]).await?;
    Ok(crate::created(&Order::one(&rows)?).with_header(
        header::HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    ))
}
