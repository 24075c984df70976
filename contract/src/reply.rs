//! What a handler answers: a status, a body serialised once, and headers.

use bytes::Bytes;
use http::header::{HeaderName, ETAG, LOCATION};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use crate::json::{self, WriteJson};
use crate::problem::Problem;

/// What a handler returns.
pub type Outcome = Result<Reply, Problem>;

/// A successful response; the runtime adds the common headers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// `None` for a reply without a body (204).
    pub content_type: Option<&'static str>,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    /// 200 with `value` as JSON, through serde (resources write their own:
    /// [`Reply::written`]).
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Reply, Problem> {
        let mut body = Vec::with_capacity(512);
        serde_json::to_writer(&mut body, value).map_err(|error| {
            tracing::error!(%error, "a reply could not be serialised");
            Problem::internal()
        })?;
        Ok(Self::json_bytes(body))
    }

    /// 200 with a resource (or rows of one) that writes its own JSON.
    pub fn written<T: WriteJson + ?Sized>(value: &T) -> Reply {
        Self::json_bytes(json::to_vec(value))
    }

    /// 200 with JSON the caller wrote (see [`crate::json`]).
    pub fn json_bytes(body: Vec<u8>) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: Some("application/json"),
            body: Bytes::from(body),
            headers: Vec::new(),
        }
    }

    /// 200 with a body that is JSON already (built once, served many times).
    pub fn static_json(body: &'static [u8]) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: Some("application/json"),
            body: Bytes::from_static(body),
            headers: Vec::new(),
        }
    }

    /// 200 with a body built into the binary, and its strong `ETag`.
    pub fn document(document: &'static crate::etag::Document) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: Some(document.content_type),
            body: Bytes::from_static(document.body),
            headers: vec![(ETAG, document.tag())],
        }
    }

    /// 201 with a `Location` header pointing at the new resource.
    pub fn created<T: WriteJson + ?Sized>(location: String, value: &T) -> Reply {
        Reply {
            status: StatusCode::CREATED,
            ..Self::written(value)
        }
        .with_location(location)
    }

    /// 204, no body.
    pub fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            content_type: None,
            body: Bytes::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_location(self, location: String) -> Reply {
        match HeaderValue::try_from(location) {
            Ok(value) => self.with_header(LOCATION, value),
            // Locations are built from integer ids; an invalid one is a bug,
            // and the body still says where the resource is.
            Err(_) => self,
        }
    }

    /// The `ETag` of the row version this reply shows.
    pub fn with_etag(self, id: i64, updated_at: chrono::DateTime<chrono::Utc>) -> Reply {
        self.with_header(ETAG, crate::etag::for_row(id, updated_at))
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Reply {
        self.headers.push((name, value));
        self
    }
}
