//! The client progenitor generates from `openapi.yaml` at build time
//! (build.rs): the `Client`, a builder per operation, and `types`. A module
//! of its own, so that what is written by hand (`problem`) names the
//! generated items here and the crate's root only re-exports.

// The generated docs are the document's descriptions, whose Markdown lists
// wrap without indenting their continuation lines.
#![allow(clippy::doc_lazy_continuation)]

include!(concat!(env!("OUT_DIR"), "/client.rs"));
