//! The listener before the service can serve: a server listens at once,
//! while it waits for the database and the schema, so that an orchestrator
//! sees it alive (`GET /health` answers 200) however long a migration
//! takes, and not ready: `/db-check` and every other request get a 503
//! problem with `Retry-After`, at once, never a hang. Once the service is
//! built, [`Gate::open`] hands every request to it.
//!
//! A process of several workers is ready when all of them are: each
//! worker's gate opens only once every worker has built its service
//! ([`Opening`]), so a probe that one worker answers 200 never sends
//! traffic to a sibling still answering 503.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use contract::{Problem, Reply};
use futures_util::future::Either;
use http::{Method, StatusCode};
use tokio::task::JoinHandle;

use crate::server::listener::Serve;
use crate::server::service::{self, App, Response};

/// What the main listener serves: the gate until it opens, then the app.
#[derive(Default)]
pub struct Gate {
    app: OnceLock<Arc<App>>,
}

impl Gate {
    /// From now on, every request goes to `app`.
    pub fn open(&self, app: Arc<App>) {
        let _ = self.app.set(app);
    }
}

impl Serve for Gate {
    fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send {
        match self.app.get() {
            // The app's own future, not one wrapped around it (see
            // `App::handle` on why that matters).
            Some(app) => Either::Left(app.clone().handle(request, peer)),
            None => Either::Right(std::future::ready(starting(&request))),
        }
    }
}

/// The answer while the service is starting.
fn starting(request: &http::Request<hyper::body::Incoming>) -> Response {
    let alive = request.uri().path() == "/health"
        && (request.method() == Method::GET || request.method() == Method::HEAD);
    let outcome = if alive {
        Ok(Reply::static_json(br#"{"status":"healthy"}"#))
    } else {
        Err(Problem {
            retry_after: Some(2),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "starting: waiting for the database and its schema",
            )
        })
    };
    let delivery = service::Delivery {
        accept_encoding: None,
        not_modified_length: None,
    };
    service::render(outcome, delivery, |_| {})
}

/// Where the workers of one process wait for each other before opening
/// their gates. Clones are the same meeting point.
#[derive(Clone)]
pub struct Opening(Arc<tokio::sync::Barrier>);

impl Opening {
    /// A meeting point for `workers` workers (at least one).
    pub fn for_workers(workers: usize) -> Opening {
        Opening(Arc::new(tokio::sync::Barrier::new(workers.max(1))))
    }

    /// Returns once every worker of the process has called it.
    pub async fn all_built(&self) {
        self.0.wait().await;
    }
}

impl Default for Opening {
    /// One worker: it waits for nobody.
    fn default() -> Opening {
        Opening::for_workers(1)
    }
}

/// The listeners' tasks while a start is under way: stopped if the start
/// is abandoned (a signal, a dropped future) so no listener outlives it.
#[derive(Default)]
pub struct StartingTasks(Vec<JoinHandle<()>>);

impl StartingTasks {
    pub fn push(&mut self, task: JoinHandle<()>) {
        self.0.push(task);
    }

    /// The tasks, no longer stopped when this is dropped.
    pub fn keep(mut self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for StartingTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
