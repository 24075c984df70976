//! Helpers for tests that drive the API through its typed client
//! (`shop-client`, re-exported as `test_support::shop_client`): ids, entity
//! tags of its answers, and the typed error an answer must be.

use std::num::NonZeroU64;

use shop_client::{ApiError, ByteStream, Error, ResponseValue, Typed};

use crate::response::Answer;

/// A row id as the client takes it.
#[track_caller]
pub fn id(id: i64) -> NonZeroU64 {
    u64::try_from(id)
        .ok()
        .and_then(NonZeroU64::new)
        .unwrap_or_else(|| panic!("{id} is no row id"))
}

/// A typed client's success, for [`crate::etag`].
impl<T> Answer for ResponseValue<T> {
    fn answer_headers(&self) -> &http::HeaderMap {
        self.headers()
    }

    fn describe(&self) -> String {
        format!("a {} answer", self.status())
    }
}

/// The typed error of an answer that must be one.
pub async fn refused<T: std::fmt::Debug + Send>(result: Result<T, Error<ByteStream>>) -> ApiError {
    result.typed().await.expect_err("an error answer")
}

/// The typed error of an answer that must be an RFC 9457 problem of
/// `status`: sent as `application/problem+json`, its body's `status` the
/// answer's (what [`crate::TestResponse::problem`] checks of a raw answer).
pub async fn problem<T: std::fmt::Debug + Send>(
    result: Result<T, Error<ByteStream>>,
    status: u16,
) -> ApiError {
    // A success is refused below; any error must be an answer, and a problem.
    if let Err(error) = &result {
        let headers = match error {
            Error::ErrorResponse(answer) => Some(answer.headers()),
            Error::UnexpectedResponse(answer) => Some(answer.headers()),
            _ => None,
        };
        let kind = headers.and_then(|headers| headers.get("content-type"));
        let kind = kind.and_then(|kind| kind.to_str().ok());
        assert_eq!(kind, Some("application/problem+json"), "a {status} problem");
    }
    let error = refused(result).await;
    assert_eq!(
        error.status().map(|s| s.as_u16()),
        Some(status),
        "{error:?}"
    );
    let in_body = match &error {
        ApiError::Validation(problem) => problem.status,
        ApiError::Conflict(problem)
        | ApiError::PreconditionFailed { problem, .. }
        | ApiError::TooManyRequests { problem, .. }
        | ApiError::Problem { problem, .. } => problem.status,
        other => panic!("no problem document: {other:?}"),
    };
    assert_eq!(in_body, i64::from(status), "{error:?}");
    error
}
