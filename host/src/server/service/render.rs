//! The response: an outcome rendered with its headers, compressed as the
//! client accepts, or a 304 for a body the client holds.

use bytes::Bytes;
use contract::{Outcome, Reply};
use http::header::*;
use http::StatusCode;
use http_body_util::Full;

use crate::server::compress;

pub type Response = http::Response<Full<Bytes>>;

pub(super) static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

pub(super) static X_CONTENT_TYPE_OPTIONS: HeaderName =
    HeaderName::from_static("x-content-type-options");

/// A 200 whose `ETag` the client already holds becomes 304 with no body
/// (RFC 9110 §13.1.2): the same headers but the body's own. With it, the
/// length of the body it stands for, whose encoding decides its headers.
pub(super) fn not_modified(
    reply: Reply,
    if_none_match: &HeaderValue,
    accept_encoding: Option<&HeaderValue>,
) -> (Reply, Option<usize>) {
    let encoding = compress::chosen(accept_encoding, reply.body.len());
    let hit = reply.status == StatusCode::OK
        && reply.headers.iter().any(|(name, etag)| {
            let sent = encoding.and_then(|encoding| compress::encoded_tag(etag, encoding));
            name == ETAG
                && contract::etag::none_match_hits(if_none_match, sent.as_ref().unwrap_or(etag))
        });
    if !hit {
        return (reply, None);
    }
    let length = reply.body.len();
    let reply = Reply {
        status: StatusCode::NOT_MODIFIED,
        content_type: None,
        body: Bytes::new(),
        headers: reply.headers,
    };
    (reply, Some(length))
}

/// How a response goes out: compressed when the client accepts it (a
/// `HEAD` as the `GET` it stands for, hyper sending no body), and a 304
/// with the headers of the 200 it stands for.
pub(crate) struct Delivery<'a> {
    pub accept_encoding: Option<&'a HeaderValue>,
    /// For a 304, the length of the body it stands for.
    pub not_modified_length: Option<usize>,
}

/// The HTTP response for an outcome: its own headers, then the ones
/// `finish` adds, then the body compressed as `delivery` allows.
pub(crate) fn render(
    outcome: Outcome,
    delivery: Delivery<'_>,
    finish: impl FnOnce(&mut http::HeaderMap),
) -> Response {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    let headers = &mut parts.headers;
    let mut body = match outcome {
        Ok(reply) => {
            parts.status = reply.status;
            if let Some(content_type) = reply.content_type {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            for (name, value) in reply.headers {
                headers.append(name, value);
            }
            reply.body
        }
        Err(problem) => {
            if problem.status.is_server_error() && problem.rejection.is_none() {
                tracing::debug!(%problem, "problem response");
            }
            parts.status = problem.status;
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            if let Some(seconds) = problem.retry_after {
                headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
            }
            if let Some(allow) = problem
                .allow
                .as_deref()
                .and_then(|a| HeaderValue::try_from(a).ok())
            {
                headers.insert(ALLOW, allow);
            }
            let body = Bytes::from(problem.to_json());
            for (name, value) in problem.headers {
                headers.append(name, value);
            }
            body
        }
    };
    finish(headers);
    if let Some(length) = delivery.not_modified_length {
        if let Some(encoding) = compress::negotiate(delivery.accept_encoding, length, headers) {
            compress::retag(headers, encoding);
        }
    }
    compress::apply(delivery.accept_encoding, parts.status, headers, &mut body);
    http::Response::from_parts(parts, Full::new(body))
}
