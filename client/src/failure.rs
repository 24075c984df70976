//! An error answer read whole: its status, headers and problem document.
//!
//! progenitor types an operation's error only when all its error statuses
//! share one schema. Here 422 answers a `ValidationProblem` and the others a
//! `Problem`, so the generated methods hand back the bytes
//! (`Error<ByteStream>`), and [`Failure::read`] decodes them into the
//! problem the status says.

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::{ByteStream, Error};

/// Why an error could not be read as a problem.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The request failed before any answer (connection, invalid request).
    #[error("no error answer to read: {0}")]
    NoAnswer(String),
    #[error("reading the problem's body: {0}")]
    Body(#[from] reqwest::Error),
    #[error("the body is not that problem: {0}")]
    Json(#[from] serde_json::Error),
}

/// An error answer: its status, its headers (`ETag` on a 412, `Retry-After`
/// on a 429) and its problem.
#[derive(Debug)]
pub struct Failure<P> {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub problem: P,
}

impl<P: DeserializeOwned> Failure<P> {
    /// Reads the problem of an error answer, e.g.
    /// `Failure::<types::ValidationProblem>::read(error)` for a 422.
    pub async fn read(error: Error<ByteStream>) -> Result<Failure<P>, ReadError> {
        let Error::ErrorResponse(answer) = error else {
            return Err(ReadError::NoAnswer(error.to_string()));
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let mut stream = answer.into_inner_stream();
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk?);
        }
        Ok(Failure {
            status,
            headers,
            problem: serde_json::from_slice(&body)?,
        })
    }
}
