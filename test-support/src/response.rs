//! An HTTP response as a test reads it, with the assertions every test
//! makes (status, problem documents).

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &TestResponse {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, expected: u16) -> Value {
        self.assert_status(expected);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], expected, "{body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        assert_eq!(body["type"], "about:blank");
        body
    }
}

/// An answer whose headers a test reads: a raw [`TestResponse`] or a typed
/// client's `ResponseValue`.
pub trait Answer {
    fn answer_headers(&self) -> &HeaderMap;
    /// What to show when an assertion on the answer fails.
    fn describe(&self) -> String;
}

impl Answer for TestResponse {
    fn answer_headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn describe(&self) -> String {
        format!("{}: {}", self.status, self.text())
    }
}

/// The answer's one entity tag; a panic without one, or with two.
#[track_caller]
pub fn etag(response: &impl Answer) -> String {
    let tags = response.answer_headers().get_all("etag");
    assert!(tags.iter().count() <= 1, "one ETag at most");
    let tag = tags.iter().next().and_then(|tag| tag.to_str().ok());
    let tag = tag.unwrap_or_else(|| panic!("no ASCII ETag on {}", response.describe()));
    tag.to_owned()
}
