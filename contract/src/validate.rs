//! Validation rules shared by every function: collect every broken rule of a
//! body, then answer 422 once with all of them.

use std::borrow::Cow;

use crate::{FieldError, Problem};

/// Collects broken rules; [`Validator::finish`] turns them into a 422.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` unless `ok`.
    pub fn check(
        &mut self,
        ok: bool,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> &mut Self {
        if !ok {
            self.errors.push(FieldError::new(field, message));
        }
        self
    }

    /// Free text, stored verbatim: not blank, at most `max_chars` characters,
    /// and no NUL (PostgreSQL's TEXT cannot hold one).
    pub fn text(&mut self, field: &'static str, value: &str, max_chars: usize) -> &mut Self {
        if value.trim().is_empty() {
            return self.check(false, field, "must not be empty");
        }
        self.optional_text(field, value, max_chars)
    }

    /// Like [`Validator::text`] but may be empty.
    pub fn optional_text(
        &mut self,
        field: &'static str,
        value: &str,
        max_chars: usize,
    ) -> &mut Self {
        if value.contains('\0') {
            return self.check(false, field, "must not contain NUL characters");
        }
        let too_long = value.len() > max_chars && value.chars().count() > max_chars;
        self.check(
            !too_long,
            field,
            format!("must be at most {max_chars} characters"),
        )
    }

    /// A plausible mailbox address: `local@domain.tld` with one `@`, no
    /// spaces, double quotes or angle brackets (a display name or a quoted
    /// local part, which no client of this API means), at most 254
    /// characters (RFC 5321's limit).
    pub fn email(&mut self, field: &'static str, value: &str) -> &mut Self {
        self.check(is_email(value), field, "must be a valid email address")
    }

    /// A price for NUMERIC(10,2): 0 to 99,999,999.99, at most two decimals.
    pub fn price(&mut self, field: &'static str, value: &rust_decimal::Decimal) -> &mut Self {
        let ok = !value.is_sign_negative()
            && *value <= crate::money::MAX_PRICE
            && value.normalize().scale() <= 2;
        self.check(
            ok,
            field,
            "must be from 0 to 99999999.99 with at most two decimals",
        )
    }

    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::unprocessable(self.errors))
        }
    }
}

fn is_email(value: &str) -> bool {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>');
    if value.len() > 254 || value.chars().any(forbidden) {
        return false;
    }
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_broken_rule() {
        let mut v = Validator::new();
        v.text("username", "   ", 80).email("email", "not-an-email");
        let problem = v.finish().unwrap_err();
        assert_eq!(problem.status.as_u16(), 422);
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_ref()).collect();
        assert_eq!(fields, ["username", "email"]);
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        let mut v = Validator::new();
        v.text("name", &"é".repeat(80), 80);
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        v.text("name", &"é".repeat(81), 80);
        assert!(v.finish().is_err());
    }

    #[test]
    fn hostile_text_is_allowed_but_nul_is_not() {
        let mut v = Validator::new();
        v.text("name", "Robert'); DROP TABLE users;-- <script>", 200);
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        v.text("name", "a\0b", 200);
        assert!(v.finish().is_err());
    }

    #[test]
    fn prices() {
        use rust_decimal::Decimal;
        for (text, ok) in [
            ("0", true),
            ("19.99", true),
            ("99999999.99", true),
            ("1.50", true),
            ("-0.01", false),
            ("100000000", false),
            ("1.999", false),
        ] {
            let mut v = Validator::new();
            v.price("price", &text.parse::<Decimal>().unwrap());
            assert_eq!(v.finish().is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn emails() {
        for good in ["john@example.com", "a.b+c@sub.example.org"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "john",
            "@example.com",
            "john@",
            "john@example",
            "jo hn@example.com",
            "john@.com",
            "john@example.com.",
            "a@b@example.com",
            "\"john\"@example.com",
            "John <john@example.com>",
            "<john@example.com>",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
