//! The `runtime` package: the binary (`main.rs`), its command line
//! (`cli`) and commands other than serving (`commands`, `migrate`), its
//! signal handling (`signals`), and the registry,
//! the one list of every function it serves. The host that serves them is
//! the `host` crate, which knows no function.

pub mod cli;
pub mod commands;
pub mod migrate;
pub mod registry;
pub mod signals;
