//! The `runtime` binary's command line as a person types it: `--help`,
//! `-h` and `--version` answer and exit without starting anything, and an
//! argument it does not know is refused by name. Each runs in an empty
//! directory, which must stay empty: a start would have created a
//! PostgreSQL cluster there (`.data/postgres`).

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with ARGS in a fresh empty directory, with no
/// DATABASE_URL; returns its output and whether the directory stayed empty.
fn run(args: &[&str]) -> (Output, bool) {
    let dir = std::env::temp_dir().join(format!(
        "runtime-cli-{}-{}",
        std::process::id(),
        args.join("_").replace(['-', ' '], "")
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_runtime"))
        .args(args)
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .env("EMBEDDED_PG_DIR", dir.join(".data/postgres"))
        .output()
        .expect("the runtime binary runs");
    let empty = is_empty(&dir);
    std::fs::remove_dir_all(&dir).expect("removing the temporary directory");
    (output, empty)
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_none())
        .unwrap_or(false)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn help_answers_and_exits() {
    for flag in ["--help", "-h", "help"] {
        let (output, empty) = run(&[flag]);
        assert!(output.status.success(), "{flag}: {:?}", output.status);
        let text = stdout(&output);
        assert!(text.contains("usage:"), "{flag}: {text}");
        assert!(text.contains("runtime healthcheck"), "{flag}: {text}");
        assert!(empty, "{flag} created files: it started something");
    }
}

#[test]
fn version_answers_and_exits() {
    for flag in ["--version", "-V"] {
        let (output, empty) = run(&[flag]);
        assert!(output.status.success(), "{flag}: {:?}", output.status);
        let text = stdout(&output);
        let expected = format!("runtime {} (revision ", env!("CARGO_PKG_VERSION"));
        assert!(text.starts_with(&expected), "{flag}: {text}");
        assert!(empty, "{flag} created files: it started something");
    }
}

#[test]
fn an_unknown_argument_is_refused_by_name() {
    for args in [
        &["--port=8080"][..],
        &["serve"],
        &["routes", "--json"],
        &["--help", "now"],
    ] {
        let (output, empty) = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let named = args.last().expect("an argument");
        assert!(stderr.contains(&format!("`{named}`")), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(empty, "{args:?} created files: it started something");
    }
}
