//! The policies around a function: its running instance (limits,
//! isolation), API keys and rate limits.

pub mod auth;
pub mod instance;
pub mod open_writes;
pub mod rate_limit;
