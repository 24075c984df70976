//! The registry: the one place that names every function the binary
//! serves, as an explicit list. Adding an endpoint is a new crate under
//! `functions/`, one line here and one dependency line in
//! `runtime/Cargo.toml` (`tests/registry.rs` fails when either is missing).

use contract::Function;

pub const FUNCTIONS: &[Function] = &[
    index::FUNCTION,
    health::FUNCTION,
    openapi_yaml::FUNCTION,
    openapi_json::FUNCTION,
    db_check::FUNCTION,
    users_list::FUNCTION,
    users_create::FUNCTION,
    users_get::FUNCTION,
    users_update::FUNCTION,
    users_delete::FUNCTION,
    users_orders::FUNCTION,
    products_list::FUNCTION,
    products_create::FUNCTION,
    products_get::FUNCTION,
    products_update::FUNCTION,
    products_delete::FUNCTION,
    orders_list::FUNCTION,
    orders_create::FUNCTION,
    orders_get::FUNCTION,
    orders_update::FUNCTION,
];
