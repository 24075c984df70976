//! Generates the client from the committed `openapi.yaml` with progenitor,
//! the same document the runtime serves as `/openapi.json` (the tests check
//! that it is), and keeps that JSON beside the code as `DOCUMENT`.

use std::path::Path;

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};

fn main() {
    // Relative to this package, so that a target directory copied from
    // another checkout watches this checkout's file.
    println!("cargo:rerun-if-changed=../openapi.yaml");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let yaml = std::fs::read_to_string(&source)
        .unwrap_or_else(|error| panic!("reading {}: {error}", source.display()));
    let document: serde_json::Value = serde_norway::from_str(&yaml)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", source.display()));
    let spec: openapiv3::OpenAPI = serde_json::from_value(document.clone())
        .unwrap_or_else(|error| panic!("{} is no OpenAPI 3.0 document: {error}", source.display()));

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged);
    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .unwrap_or_else(|error| panic!("progenitor cannot generate the client: {error}"));
    let file = syn::parse2(tokens).expect("progenitor generates Rust");

    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let write = |name: &str, contents: String| {
        let path = Path::new(&out).join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
    };
    write("client.rs", prettyplease::unparse(&file));
    write(
        "openapi.json",
        serde_json::to_string(&document).expect("a JSON value serialises"),
    );
}
