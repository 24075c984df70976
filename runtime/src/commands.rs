//! The commands of the `runtime` binary other than serving:
//! `runtime healthcheck` (a container health check without curl) and
//! `runtime routes` (the registry's routes, from which the split
//! deployments' routing is generated).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use host::config::Settings;

use crate::registry::FUNCTIONS;

/// `GET /db-check` on this machine's PORT; exit 0 on 200. Readiness, not
/// liveness: a container's health gates traffic (Compose's
/// `service_healthy`, the deploy's proxy switch), and `/health` answers
/// from the moment the server listens, before its database and schema are
/// there; `/db-check` answers 200 only once the instance can serve.
pub fn healthcheck() -> ExitCode {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(5000);
    let probe = || -> std::io::Result<bool> {
        let timeout = Duration::from_secs(3);
        let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream
            .write_all(b"GET /db-check HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(&head[9..12] == b"200")
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unhealthy: /db-check did not answer 200 (not ready, or no database)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One route of the registry, as `runtime routes --format json` prints it.
#[derive(serde::Serialize)]
struct RouteLine {
    function: String,
    methods: Vec<String>,
    path: String,
    /// The limits in force with this environment's settings (defaults and
    /// `FUNCTION_LIMITS`), for platforms that size by them (Knative's
    /// containerConcurrency).
    timeout_ms: u64,
    concurrency: u32,
    db_connections: u32,
}

/// Prints every route the binary can serve: one `METHODS PATH FUNCTION` line
/// each, or (`--format json`) a JSON array. HEAD is listed wherever GET is,
/// because the runtime answers it; `/metrics` belongs to the runtime itself.
pub fn routes(json: bool) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut lines: Vec<RouteLine> = Vec::new();
    for route in host::route_table(FUNCTIONS, &settings) {
        match lines.last_mut() {
            Some(line) if line.function == route.function => line.methods.push(route.method),
            _ => lines.push(RouteLine {
                function: route.function,
                methods: vec![route.method],
                path: route.path,
                timeout_ms: route.timeout_ms,
                concurrency: route.concurrency,
                db_connections: route.db_connections,
            }),
        }
    }
    lines.push(RouteLine {
        function: "metrics".into(),
        methods: vec!["GET".into(), "HEAD".into()],
        path: "/metrics".into(),
        timeout_ms: 0,
        concurrency: 0,
        db_connections: 0,
    });
    if json {
        match serde_json::to_string_pretty(&lines) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("cannot print the routes: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        for line in &lines {
            println!(
                "{:<20} {:<28} {}",
                line.methods.join(","),
                line.path,
                line.function
            );
        }
    }
    ExitCode::SUCCESS
}
