//! What a request's headers ask of the runtime, read in one pass.

use http::header::*;

/// What the request's headers ask of the runtime, read in one pass over
/// them before the request is handed on: a client that sends none of
/// these headers (most send two or three headers in all) pays for a walk
/// over its few headers, not a hash lookup per name.
pub(super) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

pub(super) struct Asks {
    /// `X-Request-Id`, as the client sent it.
    pub(super) request_id: Option<HeaderValue>,
    /// Whether `traceparent` came; read in full only when it did.
    pub(super) traceparent: bool,
    /// `Cache-Control: no-cache`: read from the primary.
    pub(super) fresh_reads: bool,
    /// On a GET or HEAD only: conditions on other methods are the functions'.
    pub(super) if_none_match: Option<HeaderValue>,
    pub(super) accept_encoding: Option<HeaderValue>,
    /// Only read when CORS is on.
    pub(super) origin: Option<HeaderValue>,
}

impl Asks {
    pub(super) fn of<B>(request: &http::Request<B>, cors: bool) -> Asks {
        let safe = request.method() == http::Method::GET || request.method() == http::Method::HEAD;
        let mut asks = Asks {
            request_id: None,
            traceparent: false,
            fresh_reads: false,
            if_none_match: None,
            accept_encoding: None,
            origin: None,
        };
        for (name, value) in request.headers() {
            if name == ACCEPT_ENCODING {
                asks.accept_encoding = Some(joined(asks.accept_encoding.take(), value));
            } else if name == IF_NONE_MATCH && safe {
                asks.if_none_match = Some(joined(asks.if_none_match.take(), value));
            } else if name == CACHE_CONTROL {
                asks.fresh_reads |= no_cache(value);
            } else if name == ORIGIN && cors {
                asks.origin = Some(value.clone());
            } else if name == X_REQUEST_ID && asks.request_id.is_none() {
                asks.request_id = Some(value.clone());
            } else if name == TRACEPARENT {
                asks.traceparent = true;
            }
        }
        asks
    }
}

/// A list-valued header sent as several lines, as one (RFC 9110 §5.3).
pub(super) fn joined(earlier: Option<HeaderValue>, value: &HeaderValue) -> HeaderValue {
    let Some(earlier) = earlier else {
        return value.clone();
    };
    let mut both = Vec::with_capacity(earlier.len() + value.len() + 2);
    both.extend_from_slice(earlier.as_bytes());
    both.extend_from_slice(b", ");
    both.extend_from_slice(value.as_bytes());
    HeaderValue::from_bytes(&both).unwrap_or(earlier)
}

/// `Cache-Control: no-cache`: the client will not take a stored (here: a
/// replica's possibly older) answer, so its reads go to the primary.
pub(super) fn no_cache(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|value| {
        value
            .split(',')
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-cache"))
    })
}
