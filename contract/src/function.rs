//! A function's descriptor: what the runtime needs to route to it, limit it
//! and list it, without knowing what it does.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::reply::Outcome;
use crate::request::Request;
use crate::route::Method;

/// The boxed future a handler returns; `Send` so that it can run on any worker.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// A handler: an async function from the request context to a reply or problem.
pub type Handler = fn(Request) -> HandlerFuture;

/// Limits a function asks for; `None` takes the deployment's default.
/// Configuration (`FUNCTION_LIMITS`) overrides both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// How long one call may run before it ends with 504 and its work is dropped.
    pub timeout: Option<Duration>,
    /// How many calls may run at once before new ones queue, then get 503.
    pub concurrency: Option<u32>,
    /// How many exclusive database connections the function may hold at once.
    pub db_connections: Option<u32>,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        timeout: None,
        concurrency: None,
        db_connections: None,
    };
}

/// A function: one endpoint of the API, in its own crate.
#[derive(Clone, Copy)]
pub struct Function {
    /// Unique, kebab-case, used in metrics, logs and `FUNCTIONS` selection.
    pub name: &'static str,
    pub methods: &'static [Method],
    /// A matchit path template, e.g. `/api/users/{id}`.
    pub path: &'static str,
    pub limits: Limits,
    pub handler: Handler,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("methods", &self.methods)
            .field("path", &self.path)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
