//! Money: exact decimals in, exact decimals out.
//!
//! Amounts are `rust_decimal::Decimal` from PostgreSQL's NUMERIC to the
//! response, and every sum is computed in decimal. The contract sends money
//! as a JSON number; the number written is the shortest decimal that
//! round-trips through an IEEE double, which for amounts of at most 15
//! significant digits (NUMERIC(12,2) has 12) is exactly the decimal's own
//! digits, so no amount is ever altered on the way out.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// The largest price NUMERIC(10,2) holds.
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);

/// The largest total NUMERIC(12,2) holds.
pub const MAX_TOTAL: Decimal = Decimal::from_parts(3_567_587_327, 232, 0, false, 2);

/// `#[serde(serialize_with = "contract::money::serialize")]`
pub fn serialize<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    match to_f64(amount) {
        Some(value) => serializer.serialize_f64(value),
        None => Err(serde::ser::Error::custom("amount out of range")),
    }
}

/// The double nearest to `amount`. For a mantissa below 2^53 and a scale
/// whose power of ten a double holds exactly (every amount a NUMERIC(12,2)
/// holds), one IEEE division of two exact values is correctly rounded, at a
/// fraction of the cost of `Decimal::to_f64`'s decimal arithmetic.
fn to_f64(amount: &Decimal) -> Option<f64> {
    const EXACT: i128 = 1 << 53;
    let mantissa = amount.mantissa();
    let scale = amount.scale();
    if scale <= 22 && (-EXACT..=EXACT).contains(&mantissa) {
        return Some(mantissa as f64 / 10f64.powi(scale as i32));
    }
    amount.to_f64()
}

/// A decimal string in plain notation (`-12.34`, `5`, `0.5`), as a query
/// parameter or a JSON string carries it. rust_decimal alone would also take
/// `1_0`, `.5` or `5.`, and would round away digits past its 28th decimal.
pub fn parse(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = !whole.is_empty()
        && !fraction.is_empty()
        && fraction.len() <= 28
        && whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit());
    if plain {
        Decimal::from_str(text).ok()
    } else {
        None
    }
}

/// `#[serde(deserialize_with = "contract::money::from_query")]`: an
/// optional query parameter read by [`parse`]. JSON bodies use
/// [`crate::fields::amount`], which also reads numbers from their text.
pub fn from_query<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    deserializer.deserialize_str(QueryAmount).map(Some)
}

struct QueryAmount;

impl Visitor<'_> for QueryAmount {
    type Value = Decimal;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a decimal amount like 19.99")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse(v).ok_or_else(|| E::custom(format!("`{v}` is not a decimal amount like 19.99")))
    }
}

/// A NUMERIC column read straight into a `Decimal`: PostgreSQL's base-10000
/// digits folded into one integer mantissa at the column's scale.
/// rust_decimal's own reader divides its way through each digit group,
/// about 750 instructions an amount, an eighth of a page of products; what
/// this does not read (NaN, infinities, more than 20 digits) goes its way.
pub struct Numeric(pub Decimal);

impl<'a> tokio_postgres::types::FromSql<'a> for Numeric {
    fn from_sql(
        ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Numeric, Box<dyn std::error::Error + Sync + Send>> {
        match numeric(raw) {
            Some(amount) => Ok(Numeric(amount)),
            None => Decimal::from_sql(ty, raw).map(Numeric),
        }
    }

    tokio_postgres::types::accepts!(NUMERIC);
}

/// The binary NUMERIC: digit count, weight (of the first digit, in powers
/// of 10,000), sign, display scale, then the base-10,000 digits.
fn numeric(raw: &[u8]) -> Option<Decimal> {
    let word = |at: usize| Some(u16::from_be_bytes([*raw.get(at)?, *raw.get(at + 1)?]));
    let digits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let negative = match word(4)? {
        0x0000 => false,
        0x4000 => true,
        _ => return None,
    };
    let scale = u32::from(word(6)?);
    if digits > 5 || raw.len() != 8 + 2 * digits || scale > 28 {
        return None;
    }
    let mut whole: i128 = 0;
    for at in 0..digits {
        let digit = word(8 + 2 * at)?;
        if digit >= 10_000 {
            return None;
        }
        whole = whole * 10_000 + i128::from(digit);
    }
    // The last digit stands for 10,000^(weight + 1 - digits); at `scale`
    // decimals the mantissa is the digits times 10^(4 * that + scale).
    let shift = 4 * (weight + 1 - digits as i32) + scale as i32;
    let mantissa = match u32::try_from(shift) {
        Ok(up) => whole.checked_mul(10i128.checked_pow(up)?)?,
        Err(_) => {
            let down = 10i128.checked_pow(shift.unsigned_abs())?;
            if whole % down != 0 {
                return None;
            }
            whole / down
        }
    };
    let mantissa = if negative { -mantissa } else { mantissa };
    Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

#[cfg(test)]
mod tests {

    #[test]
    fn numeric_reads_as_rust_decimal_does() {
        use tokio_postgres::types::{FromSql, ToSql, Type};
        let amounts = [
            "0",
            "0.00",
            "0.10",
            "10.00",
            "999.99",
            "-12.5",
            "99999999.99",
            "1234567890.12",
            "0.0001",
            "100000000",
            "12345678901234567890",
            "-0.01",
            "7",
            "10000.0000",
        ];
        for text in amounts {
            let amount: Decimal = text.parse().unwrap();
            let mut raw = bytes::BytesMut::new();
            amount.to_sql(&Type::NUMERIC, &mut raw).unwrap();
            let theirs = Decimal::from_sql(&Type::NUMERIC, &raw).unwrap();
            let ours = Numeric::from_sql(&Type::NUMERIC, &raw).unwrap().0;
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(
                ours.to_string(),
                theirs.to_string(),
                "{text}: the scale too"
            );
            assert!(
                super::numeric(&raw).is_some(),
                "{text}: read here, not passed on"
            );
        }
        // NaN: passed on to rust_decimal, which refuses it.
        let nan = [0u8, 0, 0, 0, 0xc0, 0, 0, 0];
        assert!(Numeric::from_sql(&Type::NUMERIC, &nan).is_err());
    }

    use super::*;

    #[test]
    fn amounts_become_the_nearest_double() {
        let amounts = [
            "0",
            "0.01",
            "0.10",
            "1.5",
            "12.34",
            "999.99",
            "99999999.99",
            "9999999999.99",
            "-5.25",
        ];
        for text in amounts {
            let amount: Decimal = text.parse().unwrap();
            let expected: f64 = text.parse().unwrap();
            assert_eq!(to_f64(&amount), Some(expected), "{text}");
        }
        // Past the fast path's range, rust_decimal's own answer.
        let tiny = Decimal::from_scientific("1e-28").unwrap();
        assert_eq!(to_f64(&tiny), tiny.to_f64());
        let wide = Decimal::from_i128_with_scale(1 << 60, 2);
        assert_eq!(to_f64(&wide), wide.to_f64());
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Price {
        #[serde(
            serialize_with = "serialize",
            deserialize_with = "crate::fields::amount"
        )]
        price: Decimal,
    }

    fn out(amount: &str) -> String {
        let price = Price {
            price: Decimal::from_str(amount).unwrap(),
        };
        serde_json::to_string(&price).unwrap()
    }

    #[test]
    fn amounts_go_out_with_their_own_digits() {
        assert_eq!(out("1299.99"), r#"{"price":1299.99}"#);
        assert_eq!(out("2599.98"), r#"{"price":2599.98}"#);
        assert_eq!(out("0.10"), r#"{"price":0.1}"#);
        assert_eq!(out("9999999999.99"), r#"{"price":9999999999.99}"#);
    }

    #[test]
    fn every_cent_up_to_the_column_limit_round_trips() {
        // Walk the NUMERIC(12,2) range with a stride that touches every
        // last-two-digit pattern and every magnitude.
        let mut cents: i64 = 1;
        while cents < 999_999_999_999 {
            let amount = Decimal::new(cents, 2);
            let text = serde_json::to_string(&Price { price: amount }).unwrap();
            let back: Price = serde_json::from_str(&text).unwrap();
            assert_eq!(back.price, amount, "{text}");
            cents = cents * 7 + 13;
        }
    }

    #[test]
    fn column_limits() {
        assert_eq!(MAX_PRICE.to_string(), "99999999.99");
        assert_eq!(MAX_TOTAL.to_string(), "9999999999.99");
    }

    #[test]
    fn input_may_be_a_number_or_a_string() {
        let a: Price = serde_json::from_str(r#"{"price": 19.99}"#).unwrap();
        let b: Price = serde_json::from_str(r#"{"price": "19.99"}"#).unwrap();
        let c: Price = serde_json::from_str(r#"{"price": 20}"#).unwrap();
        assert_eq!(a.price, Decimal::new(1999, 2));
        assert_eq!(b.price, a.price);
        assert_eq!(c.price, Decimal::new(20, 0));
        assert!(serde_json::from_str::<Price>(r#"{"price": "cheap"}"#).is_err());
        assert!(serde_json::from_str::<Price>(r#"{"price": -5e-324}"#).is_err());
        for loose in ["1_0", "1e2", " 5", "+5", ".5", "5.", ""] {
            let body = format!(r#"{{"price": "{loose}"}}"#);
            assert!(serde_json::from_str::<Price>(&body).is_err(), "{loose}");
        }
        assert!(serde_json::from_str::<Price>(r#"{"price": true}"#).is_err());
    }
}
