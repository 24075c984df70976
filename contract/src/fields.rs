//! How body fields are read, for `#[serde(deserialize_with = "…")]`.
//!
//! Numbers are read from their JSON text ([`ExactNumber`]), never through a
//! binary float, so `2.9999999999999999` is refused rather than becoming 3
//! and `19.999999999999999` rather than becoming 20.00. Each reader's
//! error message says what the field must be; the body parser adds the
//! field's name.
//!
//! These readers work on JSON bodies only (they take the field's raw text);
//! query parameters are strings and have their own parsing.

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::value::RawValue;

use crate::number::ExactNumber;
use crate::Decimal;

/// A field's JSON value, as far as these readers care.
enum Token {
    Number(ExactNumber),
    String(String),
    /// `true`, `null`, an array or an object.
    Other,
}

fn token<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Token, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => Token::String(serde_json::from_str(text).map_err(D::Error::custom)?),
        Some(b'-' | b'0'..=b'9') => match ExactNumber::parse(text) {
            Some(number) => Token::Number(number),
            None => Token::Other,
        },
        _ => Token::Other,
    })
}

/// An integer field (`quantity`, `stock_quantity`): a JSON number whose
/// value is whole and fits `T`. `2.0` is 2; `2.5`, `2.9999999999999999`,
/// `"2"` and `true` are refused.
pub fn whole<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: TryFrom<i64>,
    D: Deserializer<'de>,
{
    let value = match token(deserializer)? {
        Token::Number(number) => number.to_i64().and_then(|v| T::try_from(v).ok()),
        _ => None,
    };
    value.ok_or_else(|| {
        let (min, max) = range::<T>();
        D::Error::custom(format!("must be an integer from {min} to {max}"))
    })
}

/// [`whole`] for an optional field: absent is `None` (with
/// `#[serde(default)]`); `null` is refused.
pub fn whole_option<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<i64>,
    D: Deserializer<'de>,
{
    whole(deserializer).map(Some)
}

/// An id field (`user_id`, `product_id`): a positive whole number.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match token(deserializer)? {
        Token::Number(number) => number.to_i64().filter(|id| *id > 0),
        _ => None,
    }
    .ok_or_else(|| D::Error::custom("must be a positive integer"))
}

/// A money field: a JSON number or a decimal string (`"19.99"`), read as
/// its decimal digits. Range and the two-decimal rule are the validator's
/// (`Validator::price`), so the message can say both at once.
pub fn amount<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    match token(deserializer)? {
        Token::Number(number) => number.to_decimal(),
        Token::String(text) => crate::money::parse(&text),
        Token::Other => None,
    }
    .ok_or_else(|| D::Error::custom("must be a decimal amount like 19.99, at most two decimals"))
}

/// [`amount`] for an optional field.
pub fn amount_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    amount(deserializer).map(Some)
}

/// For `Option<Option<T>>` fields of a PATCH body: absent is `None`,
/// `null` is `Some(None)`, a value is `Some(Some(v))`. Use with
/// `#[serde(default, deserialize_with = "contract::fields::nullable")]`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The range of `T` among i64 values, for messages.
fn range<T: TryFrom<i64>>() -> (i64, i64) {
    let fits = |v: i64| T::try_from(v).is_ok();
    if fits(i64::MIN) {
        (i64::MIN, i64::MAX)
    } else if fits(i64::from(i32::MIN)) {
        (i64::from(i32::MIN), i64::from(i32::MAX))
    } else {
        (0, i64::from(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::body::parse_json;
    use crate::Decimal;

    const JSON: Option<&str> = Some("application/json");

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Fields {
        #[serde(default, deserialize_with = "super::id")]
        user_id: i64,
        #[serde(default, deserialize_with = "super::whole")]
        quantity: i32,
        #[serde(default, deserialize_with = "super::amount")]
        price: Decimal,
    }

    fn refused(body: &str) -> (String, String) {
        let problem = parse_json::<Fields>(JSON, body.as_bytes()).unwrap_err();
        assert_eq!(problem.status.as_u16(), 422, "{body}: {problem:?}");
        let error = &problem.errors[0];
        (error.field.to_string(), error.message.to_string())
    }

    #[test]
    fn numbers_that_a_float_would_round_are_refused() {
        assert_eq!(refused(r#"{"quantity": 2.9999999999999999}"#).0, "quantity");
        assert_eq!(refused(r#"{"user_id": 1.0000000000000001}"#).0, "user_id");
        let price = |p: &str| {
            parse_json::<Fields>(JSON, format!(r#"{{"price": {p}}}"#).as_bytes())
                .unwrap()
                .price
        };
        // Kept exact, for the validator to refuse (more than two decimals).
        assert_eq!(
            price("19.999999999999999").to_string(),
            "19.999999999999999"
        );
        assert_eq!(price("99999999.99000001").to_string(), "99999999.99000001");
        assert_eq!(price("19.99"), Decimal::new(1999, 2));
        assert_eq!(price("\"19.99\""), Decimal::new(1999, 2));
        assert_eq!(refused(r#"{"price": 1e-400}"#).0, "price");
    }

    #[test]
    fn an_id_must_be_a_positive_integer() {
        for body in [
            r#"{"user_id": "4"}"#,
            r#"{"user_id": 0}"#,
            r#"{"user_id": -3}"#,
            r#"{"user_id": true}"#,
            r#"{"user_id": null}"#,
            r#"{"user_id": 9223372036854775808}"#,
        ] {
            assert_eq!(
                refused(body),
                ("user_id".into(), "must be a positive integer".into()),
                "{body}"
            );
        }
        let ok = parse_json::<Fields>(JSON, br#"{"user_id": 4.0, "quantity": 1e1}"#).unwrap();
        assert_eq!((ok.user_id, ok.quantity), (4, 10));
    }
}
