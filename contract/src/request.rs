//! The request context a handler receives: everything about one call, owned,
//! so that the handler's future is `'static` and can be timed out or dropped.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Uri};
use serde::de::DeserializeOwned;

use crate::db::Db;
use crate::etag::Condition;
use crate::problem::Problem;
use crate::route::{Method, ServiceInfo};

/// Path parameters as (name, byte range in the path); the values are never
/// copied out of the URI.
pub type Params = Vec<(&'static str, Range<usize>)>;

/// What the runtime hands over to build a [`Request`].
pub struct RequestParts {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The whole body, already held to the size limit.
    pub body: Bytes,
    pub params: Params,
    pub db: Db,
    pub request_id: String,
    pub service: Arc<ServiceInfo>,
}

/// One call of a function.
pub struct Request {
    parts: RequestParts,
}

impl Request {
    pub fn new(parts: RequestParts) -> Request {
        Request { parts }
    }

    pub fn method(&self) -> Method {
        self.parts.method
    }

    /// The path as the client sent it, without the query.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The raw query string, if any.
    pub fn query_string(&self) -> Option<&str> {
        self.parts.uri.query()
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// A header's value, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name)?.to_str().ok()
    }

    pub fn body(&self) -> &Bytes {
        &self.parts.body
    }

    pub fn db(&self) -> &Db {
        &self.parts.db
    }

    pub fn request_id(&self) -> &str {
        &self.parts.request_id
    }

    pub fn service(&self) -> &ServiceInfo {
        &self.parts.service
    }

    /// A path parameter as the client wrote it.
    pub fn param(&self, name: &str) -> Option<&str> {
        let path = self.parts.uri.path();
        self.parts
            .params
            .iter()
            .find(|(key, _)| *key == name)
            .and_then(|(_, range)| path.get(range.clone()))
    }

    /// A path parameter that must be a positive BIGINT id; else 400.
    pub fn id(&self, name: &str) -> Result<i64, Problem> {
        let raw = self.param(name).unwrap_or_default();
        match raw.parse::<i64>() {
            Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
            _ => Err(Problem::bad_request(format!(
                "`{name}` in the path must be a positive integer up to {}",
                i64::MAX
            ))),
        }
    }

    /// The `If-Match` / `If-None-Match` condition on a write to the row
    /// `id`, when the client sent either; see [`crate::etag::Condition`].
    pub fn condition(&self, id: i64) -> Result<Option<Condition>, Problem> {
        let if_match = self.header_list(http::header::IF_MATCH)?;
        let if_none_match = self.header_list(http::header::IF_NONE_MATCH)?;
        if if_match.is_none() && if_none_match.is_none() {
            return Ok(None);
        }
        Condition::parse(if_match.as_deref(), if_none_match.as_deref(), id).map(Some)
    }

    /// A list-valued header, its lines joined with commas (RFC 9110 §5.3):
    /// `None` when absent, 400 when not visible ASCII.
    fn header_list(&self, name: http::header::HeaderName) -> Result<Option<String>, Problem> {
        let mut joined: Option<String> = None;
        for value in self.parts.headers.get_all(&name) {
            let value = value
                .to_str()
                .map_err(|_| Problem::bad_request(format!("{name} must be visible ASCII")))?;
            match &mut joined {
                Some(list) => {
                    list.push(',');
                    list.push_str(value);
                }
                None => joined = Some(value.to_owned()),
            }
        }
        Ok(joined)
    }

    /// The query string as `T`; see [`crate::query::parse`].
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        crate::query::parse(self.query_string().unwrap_or_default())
    }

    /// The body as JSON `T`: 415 unless it is declared JSON, 400 unless it
    /// parses, 422 when it breaks `T`'s shape (missing, unknown or mistyped
    /// fields).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        crate::body::parse_json(self.header("content-type"), &self.parts.body)
    }
}
