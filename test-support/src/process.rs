//! The `runtime` binary as an operator runs it, for the tests that need
//! the process itself (workers, signals, the log): a free loopback port,
//! the command with its log piped, plain HTTP/1.1 GETs over a socket of
//! their own, and stopping it with its log read.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback port nothing listened on a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// `binary` (the test's `env!("CARGO_BIN_EXE_runtime")`) on loopback
/// `port`, logging warnings to a pipe; the test adds the rest (where its
/// database is, workers, …).
pub fn runtime_command(binary: &str, port: u16) -> Command {
    let mut command = Command::new(binary);
    command
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `GET path` with `headers` on a connection of its own: the whole answer,
/// or `None` when nothing listens or the connection broke.
pub async fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    Some(answer)
}

/// Waits, at most 30 s, for the binary to serve: `/health` answers 200
/// from the moment it listens, so this waits for `/db-check` to stop
/// answering the 503 of a start under way (a 404 where `FUNCTIONS` leaves
/// it out is served too).
pub async fn wait_healthy(port: u16) {
    let started = Instant::now();
    loop {
        let alive = get(port, "/health", &[])
            .await
            .is_some_and(|answer| answer.starts_with("HTTP/1.1 200"));
        let serving = get(port, "/db-check", &[])
            .await
            .is_some_and(|answer| !answer.starts_with("HTTP/1.1 503"));
        if alive && serving {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the binary did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: signalling our own child by its pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

/// Waits at most `patience` for `child` to exit.
pub async fn exit_within(child: &mut Child, patience: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return status;
        }
        assert!(
            started.elapsed() < patience,
            "still running after {patience:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM, a clean exit within 15 s, and everything the process logged
/// (its piped stderr).
pub async fn stop_and_read_log(child: &mut Child) -> String {
    signal(child, libc::SIGTERM);
    let status = exit_within(child, Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("the log piped (runtime_command pipes it)")
        .read_to_string(&mut log)
        .expect("reading the log");
    log
}
