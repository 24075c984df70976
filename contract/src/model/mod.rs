//! The JSON shapes of the API's resources, read from rows: a model per file.
//!
//! Each model reads its columns by position, in the order one list of them
//! says (`COLUMNS`, in the model's file): looking columns up by name cost
//! more than the rest of the decoding on 50-row pages. Every statement
//! selects them in that order, each read checks the statement's columns
//! against the list ([`FromRow`]), and every statement is exercised by its
//! function's tests.

mod from_row;
mod order;
mod order_status;
mod product;
#[cfg(test)]
mod same_as_derive;
mod timestamp;
mod user;

pub use from_row::FromRow;
pub use order::{Order, OrderItem};
pub use order_status::{OrderStatus, UnknownStatus};
pub use product::Product;
pub use timestamp::timestamp;
pub(crate) use timestamp::timestamp_text;
pub use user::User;
