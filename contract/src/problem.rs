//! RFC 9457 problem responses: the one error type a handler returns.
//!
//! A problem never carries a stack trace, SQL text or a connection string:
//! whatever produced it is logged where it happened, and the client gets a
//! status, a title and a detail written for them.

use std::borrow::Cow;

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

/// Why the runtime turned a request away; counted per function in metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    Timeout,
    Overload,
    Panic,
    PoolExhausted,
    RateLimit,
}

impl Rejection {
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejection::Timeout => "timeout",
            Rejection::Overload => "overload",
            Rejection::Panic => "panic",
            Rejection::PoolExhausted => "pool_exhausted",
            Rejection::RateLimit => "rate_limit",
        }
    }
}

/// One broken rule in a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: Cow<'static, str>,
    pub message: Cow<'static, str>,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An `application/problem+json` response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: Cow<'static, str>,
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u32>,
    /// Methods for an `Allow` header (405).
    pub allow: Option<String>,
    /// Set when the runtime, not the function, refused the request.
    pub rejection: Option<Rejection>,
    /// Further headers, e.g. the current `ETag` beside a 412.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Problem {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            allow: None,
            rejection: None,
            headers: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 404 for the `kind` (`"user"`, `"order"`) with this id.
    pub fn not_found_id(kind: &str, id: i64) -> Self {
        Self::not_found(format!("{kind} {id} not found"))
    }

    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422 with the rules the body broke.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        Problem {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the request body breaks a validation rule",
            )
        }
    }

    /// 422 for a single field.
    pub fn invalid_field(
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::unprocessable(vec![FieldError::new(field, message)])
    }

    /// 503 with `Retry-After`: try again shortly.
    pub fn unavailable(detail: impl Into<Cow<'static, str>>) -> Self {
        Problem {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }

    /// 500 for a fault the client cannot fix; the cause is logged, not sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle the request; it has been logged",
        )
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn with_rejection(mut self, rejection: Rejection) -> Self {
        self.rejection = Some(rejection);
        self
    }

    pub fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }

    /// The `application/problem+json` body.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            title: &'static str,
            status: u16,
            detail: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            errors: &'a [FieldError],
        }
        let body = Body {
            kind: "about:blank",
            title: self.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        // Serialising plain strings and integers cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_rfc_9457_members() {
        let problem = Problem::invalid_field("email", "must be a valid email address");
        let body: serde_json::Value = serde_json::from_slice(&problem.to_json()).unwrap();
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["title"], "Unprocessable Entity");
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "email");
    }

    #[test]
    fn errors_are_left_out_when_there_are_none() {
        let body: serde_json::Value =
            serde_json::from_slice(&Problem::not_found("user 5 not found").to_json()).unwrap();
        assert!(body.get("errors").is_none());
        assert_eq!(body["detail"], "user 5 not found");
    }
}
