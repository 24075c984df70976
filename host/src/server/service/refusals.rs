//! The answers no function gives: a request refused before, or instead
//! of, its function (414, 415, 405, 429).

use contract::Problem;
use http::header::*;
use http::StatusCode;

/// The 429 for a call `limiter` refused, with its `RateLimit` headers.
pub(super) fn refused(
    limiter: &crate::policy::rate_limit::Limiter,
    decision: &crate::policy::rate_limit::Decision,
) -> Problem {
    let mut problem = limiter.refusal(decision);
    problem.headers.extend(limiter.headers(decision));
    problem
}

/// The longest query string served: no endpoint reads more than a few
/// short parameters, and a long one costs parsing on every list request.
pub const MAX_QUERY_BYTES: usize = 4096;

/// What no function sees: a query string past [`MAX_QUERY_BYTES`] (414).
pub(super) fn refused_outright<B>(request: &http::Request<B>) -> Option<Problem> {
    let length = request.uri().query().map_or(0, str::len);
    (length > MAX_QUERY_BYTES).then(|| {
        Problem::new(
            StatusCode::URI_TOO_LONG,
            format!("the query string is {length} bytes; at most {MAX_QUERY_BYTES} are served"),
        )
    })
}

/// 415 for a body in a `Content-Encoding` the runtime does not decode
/// (any but `identity`): read as plain, it would be taken for what it is
/// not (RFC 9110 §8.4).
pub(super) fn unsupported_encoding(headers: &http::HeaderMap) -> Option<Problem> {
    let encodings: Vec<&str> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        .collect();
    if encodings.is_empty() {
        return None;
    }
    let problem = Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "request bodies are read unencoded; Content-Encoding `{}` is not accepted",
            truncate(&encodings.join(", "), 100)
        ),
    );
    Some(problem.with_header(ACCEPT_ENCODING, HeaderValue::from_static("identity")))
}

pub(super) fn method_not_allowed(allow: &str) -> Problem {
    Problem {
        allow: Some(allow.to_owned()),
        ..Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this path serves {allow} only"),
        )
    }
}

/// The first `max` characters of `text`: what of a client's path is
/// shown back to it or logged.
pub(super) fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}
