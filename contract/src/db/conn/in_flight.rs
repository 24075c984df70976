//! The calls in flight on one connection, so that a connection whose call
//! was abandoned half-way is never lent again while its statement may still
//! run on the server.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

/// Counts the calls on a connection that were sent and not yet answered.
/// A call whose future is dropped half-way never counts itself out, which
/// is the point: its statement may still be running on the server.
#[derive(Default)]
pub(super) struct InFlight(AtomicU32);

impl InFlight {
    pub(super) async fn track<T>(&self, call: impl Future<Output = T>) -> T {
        self.0.fetch_add(1, Ordering::Relaxed);
        let outcome = call.await;
        self.0.fetch_sub(1, Ordering::Relaxed);
        outcome
    }

    pub(super) fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}
