//! `openapi.yaml` describes exactly the routes the runtime serves: every
//! registered (method, path) appears in it, and nothing else does.

use std::collections::BTreeSet;

use runtime::registry::FUNCTIONS;
use test_support::TestApp;

/// (METHOD, path) pairs under `paths:`, read by indentation: paths are the
/// two-space keys starting with `/`, operations the four-space HTTP verbs.
fn documented_operations(spec: &str) -> BTreeSet<(String, String)> {
    const VERBS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut operations = BTreeSet::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_paths = line.trim_end() == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(key) = line.strip_prefix("  ").filter(|rest| rest.starts_with('/')) {
            path = Some(
                key.trim_end()
                    .trim_end_matches(':')
                    .trim_matches(['"', '\''])
                    .to_owned(),
            );
        } else if let Some(key) = line
            .strip_prefix("    ")
            .filter(|rest| !rest.starts_with(' '))
        {
            let key = key.split(':').next().unwrap_or_default().trim();
            if let (Some(path), true) = (&path, VERBS.contains(&key)) {
                operations.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn openapi_lists_every_registered_route_and_nothing_else() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml at the repository root");
    let documented = documented_operations(&spec);
    let app = TestApp::start(FUNCTIONS).await;
    let served: BTreeSet<(String, String)> = app
        .running
        .as_ref()
        .unwrap()
        .service
        .routes
        .iter()
        .map(|route| (route.method.clone(), route.path.clone()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in openapi.yaml but not served: {extra:?}"
    );
    // 21 (method, path) pairs, and HEAD beside each of the 11 GETs.
    assert_eq!(served.len(), 36);
}

#[test]
fn the_reader_finds_operations() {
    let spec = "openapi: 3.1.0\npaths:\n  /a/{id}:\n    parameters: []\n    get:\n      x: 1\n    patch:\n      y: 2\n  /b:\n    post: {}\ncomponents:\n  /c:\n    get: {}\n";
    let found = documented_operations(spec);
    let expected: BTreeSet<_> = [("GET", "/a/{id}"), ("PATCH", "/a/{id}"), ("POST", "/b")]
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(found, expected);
}
