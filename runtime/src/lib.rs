//! The `runtime` package: the binary (`main.rs`) and the registry, the one
//! list of every function it serves. The host that serves them is the
//! `host` crate, which knows no function.

pub mod registry;
