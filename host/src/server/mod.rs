//! The way in: listeners and connection balance, the HTTP service that
//! takes one request end to end, the router, CORS, compression and the
//! client's address.

pub mod balance;
pub mod bind;
pub mod client_addr;
pub mod compress;
pub mod cors;
pub mod listener;
pub mod metrics_only;
pub mod readiness;
pub mod router;
pub mod service;

pub use listener::{raise_fd_limit, RESERVED_FDS};
