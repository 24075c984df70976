//! Who may call: API keys for writes (and, if asked, reads).
//!
//! With `API_KEYS` (or `API_KEYS_FILE`) set, every POST, PUT, PATCH and
//! DELETE needs `Authorization: Bearer <key>`, and so does every read when
//! `API_KEYS_READ=true`; the probes in `API_KEYS_EXEMPT` (default `health`
//! and `db-check`) stay open for orchestrators. Keys are compared in constant
//! time and never logged.

use contract::{Method, Problem};
use http::StatusCode;

use crate::config::Secret;

/// The keys and what they guard; empty keys guard nothing.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    keys: Vec<Secret>,
    protect_reads: bool,
    exempt: Vec<String>,
}

impl ApiKeys {
    pub fn new(keys: Vec<Secret>, protect_reads: bool, exempt: Vec<String>) -> ApiKeys {
        ApiKeys {
            keys,
            protect_reads,
            exempt,
        }
    }

    /// The keys `settings` configure.
    pub fn from_settings(settings: &crate::config::Settings) -> ApiKeys {
        ApiKeys::new(
            settings.api_keys.clone(),
            settings.api_keys_read,
            settings.api_keys_exempt.clone(),
        )
    }

    /// Whether a call of `function` with `method` needs a key.
    pub fn required(&self, method: Option<Method>, function: &str) -> bool {
        if self.keys.is_empty()
            || self
                .exempt
                .iter()
                .any(|glob| crate::config::glob::glob_match(glob, function))
        {
            return false;
        }
        self.protect_reads || !matches!(method, Some(Method::Get) | None)
    }

    /// Which key `authorization` carries; else 401.
    pub fn check(&self, authorization: Option<&http::HeaderValue>) -> Result<KeyId, Problem> {
        let Some(presented) = bearer(authorization) else {
            return Err(unauthorized(
                "this request needs `Authorization: Bearer <API key>`",
            ));
        };
        self.find(presented)
            .ok_or_else(|| unauthorized("the API key is not valid"))
    }

    /// Which key `authorization` carries, if any: who the caller is, for a
    /// function whose calls need no key.
    pub fn identify(&self, authorization: Option<&http::HeaderValue>) -> Option<KeyId> {
        if self.keys.is_empty() {
            return None;
        }
        self.find(bearer(authorization)?)
    }

    fn find(&self, presented: &str) -> Option<KeyId> {
        // Every key is compared, whichever matches, so timing says nothing.
        self.keys
            .iter()
            .enumerate()
            .fold(None, |found, (index, key)| {
                let equal = constant_time_eq(key.expose().as_bytes(), presented.as_bytes());
                if equal {
                    Some(KeyId(index as u32))
                } else {
                    found
                }
            })
    }
}

/// One of the configured keys, by position: whom a rate limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(pub u32);

fn bearer(authorization: Option<&http::HeaderValue>) -> Option<&str> {
    authorization
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
}

fn unauthorized(detail: &'static str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, detail)
}

/// Equal contents, in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        difference |= usize::from(x ^ y);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(protect_reads: bool) -> ApiKeys {
        ApiKeys::new(
            vec![Secret::new("k-one".into()), Secret::new("k-two".into())],
            protect_reads,
            vec!["health".into(), "db-check".into()],
        )
    }

    #[test]
    fn writes_need_a_key_reads_only_when_asked() {
        assert!(keys(false).required(Some(Method::Post), "users-create"));
        assert!(keys(false).required(Some(Method::Delete), "users-delete"));
        assert!(!keys(false).required(Some(Method::Get), "users-get"));
        assert!(keys(true).required(Some(Method::Get), "users-get"));
        assert!(!keys(true).required(Some(Method::Get), "health"));
        assert!(!ApiKeys::default().required(Some(Method::Post), "users-create"));
    }

    #[test]
    fn bearer_keys_are_checked() {
        let keys = keys(false);
        let header = |v: &str| http::HeaderValue::from_str(v).unwrap();
        assert!(keys.check(Some(&header("Bearer k-two"))).is_ok());
        assert!(keys.check(Some(&header("bearer k-one"))).is_ok());
        assert_eq!(
            keys.check(Some(&header("Bearer k-three")))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            keys.check(Some(&header("Basic k-one"))).unwrap_err().status,
            401
        );
        assert_eq!(keys.check(None).unwrap_err().status, 401);
        assert!(keys.check(Some(&header("Bearer k-on"))).is_err());
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
