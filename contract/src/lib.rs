//! The function contract: the one crate every function depends on.
//!
//! A function crate exports a [`Function`]: its name, methods, path template,
//! limits and handler. The handler receives a [`Request`] (path parameters,
//! query, size-limited body, database access, request id) and answers with a
//! [`Reply`] or a [`Problem`] (RFC 9457). Everything two functions would
//! otherwise both write lives here once: JSON body parsing and validation,
//! pagination, money, database error mapping, and the JSON shapes of the
//! API's resources.
//!
//! The runtime depends on this crate too, and implements [`db::DbSource`];
//! functions never see the runtime.

pub mod body;
pub mod db;
pub mod etag;
pub mod fields;
pub mod function;
pub mod json;
pub mod model;
pub mod money;
pub mod number;
pub mod page;
pub mod problem;
pub mod query;
pub mod reply;
pub mod request;
pub mod route;
pub mod trace;
pub mod validate;

pub use bytes::Bytes;
pub use db::{Db, DbError, Exclusive, PgConn, Shared, Tx};
pub use function::{Function, HandlerFuture, Limits};
pub use http::{header, HeaderMap, HeaderValue, StatusCode};
pub use model::FromRow;
pub use page::{Keyed, Page};
pub use problem::{FieldError, Problem, Rejection};
pub use reply::{Outcome, Reply};
pub use request::{Request, RequestParts};
pub use route::{Method, RouteInfo, ServiceInfo};
pub use rust_decimal::Decimal;
pub use validate::Validator;
