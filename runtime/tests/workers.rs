//! How the `runtime` binary's workers share one process: connections dealt
//! evenly among them, one rate limit across them, one moment they start
//! serving, and each worker's access lines out while the server idles.

mod common;

use std::time::{Duration, Instant};

use common::{get, runtime_command, spawn_runtime};
use runtime::registry::FUNCTIONS;
use test_support::process::{self, exit_within, free_port, signal, wait_healthy};
use test_support::test_settings;

/// Access lines are written in batches, but a request's line is out soon
/// after the server goes idle, not when a batch fills or the process ends:
/// on per-core workers (each has a task that keeps the batch's age) and on
/// one multi-threaded runtime (`WORKERS=0`: its threads write out when
/// they park). In JSON with `LOG_FORMAT=json`, one object a line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_line_is_out_while_the_server_idles() {
    let database_url = test_support::fresh_database().await;
    for workers in ["2", "0"] {
        an_access_line_is_out_while_idle(&database_url, workers).await;
    }
}

async fn an_access_line_is_out_while_idle(database_url: &str, workers: &str) {
    use std::io::BufRead;
    let port = free_port();
    let mut child = runtime_command(port, workers)
        .env("DATABASE_URL", database_url)
        .env("LOG_LEVEL", "info")
        .env("LOG_FORMAT", "json")
        .spawn()
        .expect("starting the runtime binary");
    let stderr = child.stderr.take().unwrap();
    let (lines, arrived) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    wait_healthy(port).await;
    get(port, "/api/users/1").await;
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut found = None;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match arrived.recv_timeout(left) {
            Ok(line) if line.contains(r#""route":"/api/users/{id}""#) => {
                found = Some(line);
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let line = found.unwrap_or_else(|| {
        panic!("WORKERS={workers}: no access line within 2 s of the request, the runtime still up")
    });
    let access: serde_json::Value = serde_json::from_str(&line).expect(&line);
    assert_eq!(access["target"], "access", "{line}");
    assert_eq!(access["route"], "/api/users/{id}", "{line}");
    assert_eq!(access["status"], 200, "{line}");
    signal(&child, libc::SIGTERM);
    assert!(exit_within(&mut child, Duration::from_secs(15))
        .await
        .success());
}

/// Two workers serve as many connections each, whatever the kernel's
/// hash dealt them: each response's request id starts with its worker's
/// prefix, and 40 kept-alive connections, opened one after another, come
/// out 20 and 20 (the hash alone gives that one time in eight).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_dealt_evenly_among_workers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = spawn_runtime(&database_url, port);
    wait_healthy(port).await;
    let mut held = Vec::new();
    let mut per_worker = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"healthy\"}") {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
        let answer = String::from_utf8(answer).unwrap();
        let id = answer
            .lines()
            .find_map(|line| line.strip_prefix("x-request-id: "))
            .unwrap_or_else(|| panic!("no request id: {answer}"));
        let (worker, _) = id.split_once('-').unwrap();
        *per_worker.entry(worker.to_owned()).or_default() += 1;
        held.push(stream);
    }
    let counts: Vec<usize> = per_worker.values().copied().collect();
    assert_eq!(counts, [20, 20], "{per_worker:?}");
    drop(held);
    process::stop_and_read_log(&mut child).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_for_the_process_across_workers() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = runtime_command(port, "2")
        .env("DATABASE_URL", &database_url)
        .env("RATE_LIMIT", "10/m")
        // The probes too: wait_healthy asks both.
        .env("FUNCTION_LIMITS", "health=rate:off;db-check=rate:off")
        .spawn()
        .expect("starting the runtime binary");
    wait_healthy(port).await;
    // A new connection each: the kernel spreads them over both workers.
    let mut allowed = 0;
    let mut refused = 0;
    for _ in 0..30 {
        let answer = get(port, "/api/users/1").await.expect("an answer");
        match &answer[..12] {
            "HTTP/1.1 200" => allowed += 1,
            "HTTP/1.1 429" => refused += 1,
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    signal(&child, libc::SIGTERM);
    exit_within(&mut child, Duration::from_secs(15)).await;
    assert_eq!((allowed, refused), (10, 20));
}

/// A process is ready when every worker is: a worker that has built its
/// service still answers 503 (and liveness 200) while a sibling has not
/// started, so a probe it answers never sends traffic to a worker that
/// would refuse it. Once both have started, both serve. In process, so the
/// second worker starts when the test says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_serves_only_once_every_worker_can() {
    let database_url = test_support::fresh_database().await;
    let mut settings = test_settings();
    settings.port = free_port();
    let worker = settings.for_worker(2);
    let shared = host::Shared::for_workers(2);
    let start = |shared: host::Shared| {
        let (settings, url) = (worker.clone(), database_url.clone());
        tokio::spawn(async move { host::start_worker(settings, shared, &url, FUNCTIONS).await })
    };
    let port = settings.port;
    let answer = |path: &'static str| async move {
        let answer = get(port, path).await.unwrap_or_default();
        answer.get(..12).unwrap_or_default().to_owned()
    };

    // One worker's own start takes well under the 2 s it is watched here.
    let first = start(shared.clone());
    let watched = Instant::now();
    let mut probes = 0;
    while watched.elapsed() < Duration::from_secs(2) {
        if answer("/health").await == "HTTP/1.1 200" {
            probes += 1;
            assert_eq!(answer("/db-check").await, "HTTP/1.1 503", "ready alone");
            assert_eq!(answer("/api/users/1").await, "HTTP/1.1 503", "served alone");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(probes >= 5, "the first worker listened for {probes} probes");
    assert!(
        !first.is_finished(),
        "the first worker's start returned alone"
    );

    let second = start(shared);
    let running = [first.await.unwrap(), second.await.unwrap()];
    // Forty connections, dealt between the two: every one is served.
    for _ in 0..40 {
        assert_eq!(answer("/api/users/1").await, "HTTP/1.1 200");
    }
    for worker in running {
        worker.expect("both workers start").shutdown().await;
    }
}
