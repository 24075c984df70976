//! Error answers as typed values: [`ApiError`], one variant per status a
//! caller acts on differently (412 with the current `ETag`, 422 with its
//! field errors, 409, 429 with `Retry-After`, 304), read from what the
//! generated methods hand back.
//!
//! progenitor types an operation's error only when all its error statuses
//! share one schema. Here 422 answers a `ValidationProblem` (its `errors`
//! always there) and the others a `Problem`, and the document keeps them
//! apart so that every generator sees that difference; so the generated
//! methods return the error's bytes (`Error<ByteStream>`), and
//! [`Typed::typed`] decodes them by status.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, ETAG, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::generated::types::{Problem, ValidationProblem};
use crate::generated::{ByteStream, Error};

/// What an operation answered instead of its success, typed by status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 304: the `If-None-Match` tag is still current; `etag` is that tag.
    #[error("304 Not Modified")]
    NotModified { etag: Option<String> },
    /// 409: the request conflicts with the stored state (too little stock
    /// for an order, a username or email taken, a status move not allowed).
    #[error("409 Conflict: {}", .0.detail)]
    Conflict(Problem),
    /// 412: the row changed since the `If-Match` tag; nothing was written.
    /// `current_etag` is the version now (the answer's `ETag`), to retry with.
    #[error("412 Precondition Failed: {}", problem.detail)]
    PreconditionFailed {
        problem: Problem,
        current_etag: Option<String>,
    },
    /// 422: the body broke the rules; `errors` names every field.
    #[error("422 Unprocessable Entity: {}", .0.detail)]
    Validation(ValidationProblem),
    /// 429: over the rate limit; retry after `retry_after`.
    #[error("429 Too Many Requests: {}", problem.detail)]
    TooManyRequests {
        problem: Problem,
        retry_after: Option<Duration>,
    },
    /// Any other problem answer (400, 404, 405, 408, 413, 415, 503, ...);
    /// `retry_after` where the server sent one (503).
    #[error("{status}: {}", problem.detail)]
    Problem {
        status: StatusCode,
        problem: Problem,
        retry_after: Option<Duration>,
    },
    /// An error answer whose body is not the problem its status promises.
    #[error("{status} with no readable problem: {reason}")]
    Unreadable { status: StatusCode, reason: String },
    /// No answer to read: the connection failed, the client refused to
    /// send an invalid request, or a success's body was not its type.
    #[error(transparent)]
    Request(Error<ByteStream>),
}

impl ApiError {
    /// The answer's status, if there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::NotModified { .. } => Some(StatusCode::NOT_MODIFIED),
            ApiError::Conflict(_) => Some(StatusCode::CONFLICT),
            ApiError::PreconditionFailed { .. } => Some(StatusCode::PRECONDITION_FAILED),
            ApiError::Validation(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
            ApiError::TooManyRequests { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            ApiError::Problem { status, .. } | ApiError::Unreadable { status, .. } => Some(*status),
            ApiError::Request(error) => error.status(),
        }
    }

    /// Reads an error the generated methods returned into its typed value.
    pub async fn read(error: Error<ByteStream>) -> ApiError {
        let answer = match error {
            Error::ErrorResponse(answer) => answer,
            Error::UnexpectedResponse(response)
                if response.status() == StatusCode::NOT_MODIFIED =>
            {
                let etag = header(response.headers(), ETAG);
                return ApiError::NotModified { etag };
            }
            other => return ApiError::Request(other),
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let mut stream = answer.into_inner_stream();
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(error) => return unreadable(status, error),
            }
        }
        decode(status, &headers, &body).unwrap_or_else(|error| unreadable(status, error))
    }
}

/// The typed value of an error answer's status, headers and body.
fn decode(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ApiError, serde_json::Error> {
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        return Ok(ApiError::Validation(parse(body)?));
    }
    let problem: Problem = parse(body)?;
    let retry_after = header(headers, RETRY_AFTER)
        .and_then(|seconds| seconds.trim().parse().ok())
        .map(Duration::from_secs);
    Ok(match status {
        StatusCode::CONFLICT => ApiError::Conflict(problem),
        StatusCode::PRECONDITION_FAILED => ApiError::PreconditionFailed {
            problem,
            current_etag: header(headers, ETAG),
        },
        StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests {
            problem,
            retry_after,
        },
        status => ApiError::Problem {
            status,
            problem,
            retry_after,
        },
    })
}

fn parse<P: DeserializeOwned>(body: &[u8]) -> Result<P, serde_json::Error> {
    serde_json::from_slice(body)
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.to_owned())
}

fn unreadable(status: StatusCode, reason: impl std::fmt::Display) -> ApiError {
    ApiError::Unreadable {
        status,
        reason: reason.to_string(),
    }
}

/// `.typed()` on what a generated `send()` returns: the success as it is,
/// an error as an [`ApiError`].
///
/// ```no_run
/// # async fn example() -> Result<(), shop_client::ApiError> {
/// use shop_client::{ApiError, Typed};
/// let client = shop_client::Client::new("http://localhost:5000");
/// match client.users_get().id(1).send().await.typed().await {
///     Ok(user) => println!("{}", user.username.as_str()),
///     Err(ApiError::Problem { status, .. }) if status == 404 => println!("no such user"),
///     Err(error) => return Err(error),
/// }
/// # Ok(())
/// # }
/// ```
pub trait Typed<T> {
    fn typed(self) -> impl Future<Output = Result<T, ApiError>> + Send;
}

impl<T: Send> Typed<T> for Result<T, Error<ByteStream>> {
    async fn typed(self) -> Result<T, ApiError> {
        match self {
            Ok(value) => Ok(value),
            Err(error) => Err(ApiError::read(error).await),
        }
    }
}
