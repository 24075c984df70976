//! A JSON number read from its decimal text, exactly.
//!
//! serde_json turns a number with a fraction or an exponent into an `f64`
//! before any visitor sees it, which rounds: `19.999999999999999` becomes
//! `20.0` and `1.0000000000000001` becomes `1.0`. Reading the text instead
//! keeps every digit, so such input is refused instead of silently changed.

use std::str::FromStr;

use rust_decimal::Decimal;

/// A number as written: `±digits × 10^exponent`, with the digits' leading
/// and trailing zeros taken off (zero has no digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactNumber {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// More digits than any value this API stores; beyond it a number is out
/// of range whatever it is.
const MAX_DIGITS: i64 = 40;

impl ExactNumber {
    /// Parses JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub fn parse(text: &str) -> Option<ExactNumber> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (whole, fraction) = match mantissa.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (mantissa, None),
        };
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(whole) || (whole.len() > 1 && whole.starts_with('0')) {
            return None;
        }
        if fraction.is_some_and(|f| !digits_only(f)) {
            return None;
        }
        let exponent = match exponent {
            None => 0,
            Some(text) => {
                let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
                if !digits_only(unsigned) {
                    return None;
                }
                // An exponent this long is out of every range; keep its sign.
                let magnitude = unsigned
                    .parse::<i64>()
                    .unwrap_or(i64::MAX / 4)
                    .min(i64::MAX / 4);
                if text.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let fraction = fraction.unwrap_or_default();
        let mut digits: String = whole.chars().chain(fraction.chars()).collect();
        let mut exponent = exponent - fraction.len() as i64;
        while digits.ends_with('0') {
            digits.pop();
            exponent += 1;
        }
        let digits = digits.trim_start_matches('0').to_owned();
        if digits.is_empty() {
            exponent = 0;
        }
        Some(ExactNumber {
            negative,
            digits,
            exponent,
        })
    }

    /// The value as an `i64`, when it is a whole number that fits.
    pub fn to_i64(&self) -> Option<i64> {
        if self.digits.is_empty() {
            return Some(0);
        }
        if self.exponent < 0 || self.digits.len() as i64 + self.exponent > 19 {
            return None;
        }
        let mut text = self.digits.clone();
        text.extend(std::iter::repeat_n('0', self.exponent as usize));
        let magnitude = text.parse::<i128>().ok()?;
        i64::try_from(if self.negative { -magnitude } else { magnitude }).ok()
    }

    /// The value as a `Decimal`, when it fits one (28 significant digits).
    pub fn to_decimal(&self) -> Option<Decimal> {
        if self.digits.is_empty() {
            return Some(Decimal::ZERO);
        }
        let places = self.digits.len() as i64 + self.exponent.max(0);
        if places > MAX_DIGITS.min(28) || self.exponent < -28 {
            return None;
        }
        let sign = if self.negative { "-" } else { "" };
        let text = if self.exponent >= 0 {
            format!(
                "{sign}{}{}",
                self.digits,
                "0".repeat(self.exponent as usize)
            )
        } else {
            let scale = (-self.exponent) as usize;
            let padded = format!("{:0>width$}", self.digits, width = scale + 1);
            let (whole, fraction) = padded.split_at(padded.len() - scale);
            format!("{sign}{whole}.{fraction}")
        };
        Decimal::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(text: &str) -> Option<i64> {
        ExactNumber::parse(text)?.to_i64()
    }

    fn dec(text: &str) -> Option<String> {
        Some(ExactNumber::parse(text)?.to_decimal()?.to_string())
    }

    #[test]
    fn whole_numbers_are_exact() {
        assert_eq!(int("3"), Some(3));
        assert_eq!(int("-7"), Some(-7));
        assert_eq!(int("2.0"), Some(2));
        assert_eq!(int("1e2"), Some(100));
        assert_eq!(int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(int("9223372036854775808"), None);
        assert_eq!(int("2.9999999999999999"), None);
        assert_eq!(int("1.0000000000000001"), None);
        assert_eq!(int("1e-400"), None);
        assert_eq!(int("1e400"), None);
        assert_eq!(int("0e99999999999999999999"), Some(0));
    }

    #[test]
    fn decimals_keep_every_digit() {
        assert_eq!(dec("19.99").as_deref(), Some("19.99"));
        assert_eq!(dec("19.990").as_deref(), Some("19.99"));
        assert_eq!(dec("0.05").as_deref(), Some("0.05"));
        assert_eq!(dec("1e2").as_deref(), Some("100"));
        assert_eq!(dec("1.5E-1").as_deref(), Some("0.15"));
        assert_eq!(
            dec("19.999999999999999").as_deref(),
            Some("19.999999999999999")
        );
        assert_eq!(
            dec("99999999.99000001").as_deref(),
            Some("99999999.99000001")
        );
        assert_eq!(dec("-0.0").as_deref(), Some("0"));
        assert_eq!(dec("1e-400"), None);
        assert_eq!(dec("1e300"), None);
    }

    #[test]
    fn only_json_grammar() {
        for bad in [
            "", "-", "01", ".5", "5.", "1e", "1e+", "+1", "1_0", " 1", "0x10", "NaN",
        ] {
            assert_eq!(ExactNumber::parse(bad), None, "{bad:?}");
        }
    }
}
