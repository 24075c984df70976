//! The registry lists every crate under `functions/`, and nothing else: a
//! new function that was not registered (or a registered one whose crate is
//! gone) fails here, not in production as a 404.

use std::collections::BTreeSet;

use runtime::registry::FUNCTIONS;

fn function_crates() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    std::fs::read_dir(dir)
        .expect("the functions directory")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_function_crate_is_registered_and_every_registered_function_has_a_crate() {
    let crates = function_crates();
    let registered: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.name.to_owned()).collect();
    assert_eq!(
        registered.len(),
        FUNCTIONS.len(),
        "a function is registered twice"
    );
    let unregistered: Vec<_> = crates.difference(&registered).collect();
    let missing: Vec<_> = registered.difference(&crates).collect();
    assert!(
        unregistered.is_empty(),
        "crates under functions/ that runtime/src/registry.rs does not list: {unregistered:?}"
    );
    assert!(
        missing.is_empty(),
        "registered functions with no crate under functions/: {missing:?}"
    );
}

#[test]
fn every_function_crate_is_a_dependency_of_the_binary() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("runtime/Cargo.toml");
    for name in function_crates() {
        let line = format!("{name} = {{ path = \"../functions/{name}\" }}");
        assert!(
            manifest.contains(&line),
            "runtime/Cargo.toml lacks `{line}`"
        );
    }
}
