//! Test support: every test talks HTTP to a real runtime over a real
//! PostgreSQL, never a mock.
//!
//! One throwaway cluster per test process, started from the installed
//! PostgreSQL binaries (or the server `DATABASE_URL` names, as in GitHub
//! Actions' service container). The schema and sample data are applied once
//! to a template database; each test gets a fresh copy of it, and a runtime
//! serving the functions it names on a free port.

mod app;
pub mod blackhole;
mod cluster;
pub mod otlp;
pub mod pooler;
pub mod process;
pub mod replica;
mod response;
mod typed;

pub use app::{create_product, product, test_settings, TestApp};
pub use cluster::{connect, empty_database, fresh_database, PrivateCluster};
pub use host;
pub use response::{etag, Answer, TestResponse};
pub use serde_json::json;
pub use shop_client;
pub use typed::{id, problem, refused};

/// The original's sample data (`sql/02-sample-data.sql`), by name: every
/// test database starts with it.
pub mod sample {
    /// Users.
    pub const JOHN: i64 = 1;
    pub const JANE: i64 = 2;
    pub const BOB: i64 = 3;
    /// Products, with their stock at the start.
    pub const LAPTOP: i64 = 1;
    pub const MOUSE: i64 = 2;
    pub const KEYBOARD: i64 = 3;
    /// The laptop's 10, less the 2 of John's order.
    pub const LAPTOP_STOCK: i64 = 8;
    pub const MOUSE_STOCK: i64 = 100;
    pub const KEYBOARD_STOCK: i64 = 50;
    /// John's pending order of two laptops.
    pub const JOHNS_ORDER: i64 = 1;
}
