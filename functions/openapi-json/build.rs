//! Converts the committed `openapi.yaml` to JSON once, at build time, so
//! the binary serves both without parsing YAML at run time.

use std::path::Path;

fn main() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    // Relative to this package: an absolute path would keep a target
    // directory copied from another checkout watching that checkout's file.
    println!("cargo:rerun-if-changed=../../openapi.yaml");
    let yaml = std::fs::read_to_string(&source)
        .unwrap_or_else(|error| panic!("reading {}: {error}", source.display()));
    let document: serde_json::Value = serde_norway::from_str(&yaml)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", source.display()));
    let json = serde_json::to_vec(&document).expect("a JSON value serialises");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("openapi.json");
    std::fs::write(&out, json).unwrap_or_else(|error| panic!("writing {}: {error}", out.display()));
}
