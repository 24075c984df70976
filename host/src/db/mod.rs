//! The database: pools and their shared lanes, read replicas, the schema
//! and the embedded PostgreSQL of a local run.

mod connect;
pub mod embedded;
pub mod migrate;
pub mod pool;
pub mod replicas;
pub mod schema;
