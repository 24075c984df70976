//! The `runtime` binary as an operator runs it: several workers on one
//! port, SIGTERM under load, and the `healthcheck` subcommand.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    Some(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_serve_one_port_and_sigterm_drains_and_exits_0() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runtime"))
        .env("DATABASE_URL", &database_url)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("WORKERS", "2")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("starting the runtime binary");

    let started = Instant::now();
    while get(port, "/health")
        .await
        .is_none_or(|a| !a.starts_with("HTTP/1.1 200"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the binary did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let probe = Command::new(env!("CARGO_BIN_EXE_runtime"))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .status()
        .unwrap();
    assert!(probe.success());

    let running = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let running = running.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while running.load(Ordering::Relaxed) {
                    match get(port, "/api/users/1").await {
                        Some(answer) => answers.push(answer),
                        None => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // SAFETY: signalling our own child by its pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    running.store(false, Ordering::Relaxed);
    assert!(status.success(), "exit status {status}");

    let mut served = 0;
    for client in clients {
        for answer in client.await.unwrap() {
            // Anything answered at all was answered in full and well.
            if !answer.is_empty() {
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
                served += 1;
            }
        }
    }
    assert!(served > 10, "only {served} requests were served");
    let down = Command::new(env!("CARGO_BIN_EXE_runtime"))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!down.success());
}
