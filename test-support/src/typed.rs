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
