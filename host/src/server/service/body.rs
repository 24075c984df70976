//! A request's body: read whole, within the size and time limits, and what
//! a refusal that leaves it unread must tell the client.

use bytes::Bytes;
use contract::Problem;
use http::header::{HeaderValue, CONTENT_LENGTH};
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::config::BodyLimits;

/// The whole body, refused early when it declares or reaches more than
/// the limit, and bounded in time so a trickling client holds nothing.
pub(super) async fn read(
    limits: &BodyLimits,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<Bytes, Problem> {
    let limit = limits.max_bytes;
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the limit of {limit} bytes"),
        )
    };
    if let Some(length) = headers.get(CONTENT_LENGTH) {
        match length.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(length) if length > limit as u64 => return Err(too_large()),
            Some(_) => {}
            None => return Err(Problem::bad_request("Content-Length is not a number")),
        }
    }
    // No body (most GETs): nothing to wait for, so no timer to set.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    // Boxed: the wait (a timer and the collector) is room in the request
    // future that a request without a body would carry for nothing.
    let collect = Limited::new(body, limit).collect();
    let read = Box::pin(tokio::time::timeout(limits.read_timeout, collect));
    match read.await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(error)) => {
            tracing::debug!(%error, "body could not be read");
            Err(Problem::bad_request("the body could not be read"))
        }
        Err(_) => Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time",
        )),
    }
}

/// A refusal that leaves the request's body unread (or half read): hyper
/// closes such an HTTP/1 connection after the answer rather than read the
/// rest, so the answer says so. Without `Connection: close` a client that
/// keeps connections alive sends its next request on a socket about to
/// close and gets nothing back. (HTTP/2 ends the stream, not the
/// connection, and forbids the header.)
pub(super) fn unread(mut problem: Problem, version: http::Version) -> Problem {
    if version < http::Version::HTTP_2 {
        problem
            .headers
            .push((http::header::CONNECTION, HeaderValue::from_static("close")));
    }
    problem
}
