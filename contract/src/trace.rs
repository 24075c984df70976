//! Statement spans: while the runtime traces a request, it puts a
//! [`Recorder`] in scope around the function's call, and every statement
//! the function runs through [`crate::db`] is recorded there: its SQL
//! (placeholders, never values), when it started, how long it took, and
//! whether it failed. The runtime turns them into child spans.
//!
//! With no recorder in scope (tracing off, or this request not sampled) a
//! statement pays one task-local lookup.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

tokio::task_local! {
    static RECORDER: Recorder;
}

/// One statement as it ran.
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: Arc<str>,
    pub started: SystemTime,
    pub duration: Duration,
    pub failed: bool,
}

/// The statements of one traced request.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Statement>>>);

impl Recorder {
    /// Runs `call` with this recorder in scope.
    pub async fn scope<F: Future>(&self, call: F) -> F::Output {
        RECORDER.scope(self.clone(), call).await
    }

    /// The statements recorded so far, in the order they ended.
    pub fn take(&self) -> Vec<Statement> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Runs one statement, recording it when a recorder is in scope.
pub(crate) async fn statement<T, E>(
    sql: &str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    if RECORDER.try_with(|_| ()).is_err() {
        return call.await;
    }
    let started = SystemTime::now();
    let clock = std::time::Instant::now();
    let outcome = call.await;
    let statement = Statement {
        sql: Arc::from(sql),
        started,
        duration: clock.elapsed(),
        failed: outcome.is_err(),
    };
    let _ = RECORDER.try_with(|recorder| {
        recorder
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(statement)
    });
    outcome
}
