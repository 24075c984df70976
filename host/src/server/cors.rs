//! CORS for browser clients (`CORS_ALLOW_ORIGINS`): the runtime answers
//! preflights for every route and marks the answers to allowed origins.
//! Unset, nothing here runs and no CORS header is sent.
//!
//! Credentials (cookies, HTTP auth) are allowed only for origins named one
//! by one: with `*`, any page could use a visitor's credentials here.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW,
    VARY,
};
use http::{HeaderMap, HeaderValue};

pub use crate::config::Cors;

/// The request headers a client of this API sends.
const ALLOW_HEADERS: &str =
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id, traceparent, tracestate";
/// The response headers a page may read besides the CORS-safelisted ones.
const EXPOSE_HEADERS: &str =
    "Link, ETag, Location, Retry-After, X-Request-Id, RateLimit, RateLimit-Policy";
/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

impl Cors {
    /// The `Access-Control-Allow-Origin` for a request's `Origin`, if allowed.
    fn allowed(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match self {
            Cors::AnyOrigin => Some(HeaderValue::from_static("*")),
            Cors::Origins(origins) => {
                let origin_text = origin.to_str().ok()?;
                origins
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(origin_text))
                    .then(|| origin.clone())
            }
        }
    }

    fn credentials(&self) -> bool {
        matches!(self, Cors::Origins(_))
    }

    /// Marks an answer to a request from `origin` (an actual request, not a
    /// preflight). Every answer says it varies by `Origin`, so a cache never
    /// gives one origin's answer to another.
    pub fn mark(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        // A preflight's answer already says it varies by `Origin`.
        let varies = headers
            .get_all(VARY)
            .iter()
            .any(|vary| vary.as_bytes().starts_with(b"Origin"));
        if matches!(self, Cors::Origins(_)) && !varies {
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
        let Some(allow_origin) = origin.and_then(|origin| self.allowed(origin)) else {
            return;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
        if self.credentials() {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The headers of the answer to `OPTIONS` on a path that serves `allow`:
    /// `Allow` for anyone, and the preflight's grants for an allowed origin.
    pub fn preflight(&self, origin: Option<&HeaderValue>, allow: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let methods = HeaderValue::try_from(allow).unwrap_or(HeaderValue::from_static("GET"));
        headers.insert(ALLOW, methods.clone());
        headers.insert(
            VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let Some(allow_origin) = origin.and_then(|origin| self.allowed(origin)) else {
            return headers;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, methods);
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        if self.credentials() {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_parsed_and_checked() {
        assert_eq!(Cors::parse("*").unwrap(), Cors::AnyOrigin);
        assert_eq!(
            Cors::parse("https://A.example, http://localhost:3000").unwrap(),
            Cors::Origins(vec![
                "https://a.example".into(),
                "http://localhost:3000".into()
            ])
        );
        for bad in [
            "",
            "*, https://a.example",
            "a.example",
            "https://a.example/",
        ] {
            assert!(Cors::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_only_with_named_origins() {
        let origin = HeaderValue::from_static("https://a.example");
        let mut any = HeaderMap::new();
        Cors::AnyOrigin.mark(Some(&origin), &mut any);
        assert_eq!(any[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(any.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());

        let named = Cors::parse("https://a.example").unwrap();
        let mut headers = HeaderMap::new();
        named.mark(Some(&origin), &mut headers);
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");

        let mut other = HeaderMap::new();
        named.mark(
            Some(&HeaderValue::from_static("https://evil.example")),
            &mut other,
        );
        assert!(other.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(other[VARY], "Origin");
    }
}
