//! What a function serves and what the service says about its routes: the
//! methods a function may serve, and the route table `GET /` shows. Both
//! the registry's functions and each request name them, so they live apart
//! from either.

use serde::Serialize;

/// The HTTP methods a function may serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The contract's method for an HTTP method, or `None` for one no
    /// function can serve (HEAD, OPTIONS, extensions).
    pub fn from_http(method: &http::Method) -> Option<Method> {
        Some(match *method {
            http::Method::GET => Method::Get,
            http::Method::POST => Method::Post,
            http::Method::PUT => Method::Put,
            http::Method::PATCH => Method::Patch,
            http::Method::DELETE => Method::Delete,
            _ => return None,
        })
    }
}

/// One row of the route table the runtime serves, as `GET /` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RouteInfo {
    pub function: String,
    pub method: String,
    pub path: String,
    /// The time limit in force, in milliseconds.
    pub timeout_ms: u64,
    /// The concurrency limit in force.
    pub concurrency: u32,
    /// The exclusive database connections the function may hold.
    pub db_connections: u32,
}

/// What the service says about itself; built once at start-up.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceInfo {
    pub service: String,
    pub version: String,
    pub routes: Vec<RouteInfo>,
}
