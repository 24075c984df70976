//! What the tests of the `runtime` binary share: starting it as an
//! operator would (on loopback, some workers, warnings to a pipe) and one
//! plain `GET`.

use std::process::Command;

use test_support::process;

/// `GET path`, no headers of its own.
pub async fn get(port: u16, path: &str) -> Option<String> {
    process::get(port, path, &[]).await
}

/// The binary on loopback `port` with `workers`, logging warnings to a
/// pipe; each test adds where its database is.
pub fn runtime_command(port: u16, workers: &str) -> Command {
    let mut command = process::runtime_command(env!("CARGO_BIN_EXE_runtime"), port);
    command.env("WORKERS", workers);
    command
}

/// Starts the binary on `port` over `database_url` with two workers.
pub fn spawn_runtime(database_url: &str, port: u16) -> std::process::Child {
    runtime_command(port, "2")
        .env("DATABASE_URL", database_url)
        .spawn()
        .expect("starting the runtime binary")
}
