//! The `runtime` binary as an operator runs it: several workers on one
//! port, SIGTERM under load, the `healthcheck` subcommand, a second copy on
//! a taken port, and signals while it waits for the database.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use test_support::process::{self, exit_within, free_port, signal, wait_healthy};

/// `GET path`, no headers of its own.
async fn get(port: u16, path: &str) -> Option<String> {
    process::get(port, path, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_serve_one_port_and_sigterm_drains_and_exits_0() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = spawn_runtime(&database_url, port);
    wait_healthy(port).await;
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
    signal(&child, libc::SIGTERM);
    let status = exit_within(&mut child, Duration::from_secs(15)).await;
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

/// The binary on loopback `port` with `workers`, logging warnings to a
/// pipe; each test adds where its database is.
fn runtime_command(port: u16, workers: &str) -> Command {
    let mut command = process::runtime_command(env!("CARGO_BIN_EXE_runtime"), port);
    command.env("WORKERS", workers);
    command
}

/// Starts the binary on `port` over `database_url` with two workers.
fn spawn_runtime(database_url: &str, port: u16) -> std::process::Child {
    runtime_command(port, "2")
        .env("DATABASE_URL", database_url)
        .spawn()
        .expect("starting the runtime binary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_copy_on_a_taken_port_fails_with_address_in_use() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut first = spawn_runtime(&database_url, port);
    wait_healthy(port).await;

    let second = runtime_command(port, "2")
        .env("DATABASE_URL", &database_url)
        .output()
        .expect("running a second copy");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use"), "{stderr}");

    // The first copy still serves every request.
    for _ in 0..20 {
        let answer = get(port, "/health").await.unwrap_or_default();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    signal(&first, libc::SIGTERM);
    assert!(exit_within(&mut first, Duration::from_secs(15))
        .await
        .success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_waiting_for_the_database_exits_at_once() {
    // Nothing listens on this port: the runtime waits up to 30 s for it.
    let nowhere = format!("postgres://postgres@127.0.0.1:{}/shop", free_port());
    for workers in ["2", "0"] {
        let mut child = runtime_command(free_port(), workers)
            .env("DATABASE_URL", &nowhere)
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the runtime binary");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "it should still be waiting"
        );
        signal(&child, libc::SIGTERM);
        exit_within(&mut child, Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_drains_like_sigterm() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = spawn_runtime(&database_url, port);
    wait_healthy(port).await;
    signal(&child, libc::SIGHUP);
    let status = exit_within(&mut child, Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains("panic"), "{log}");
}

/// A second start on the same embedded data directory says who holds it,
/// and leaves the running instance's server log whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_on_one_embedded_data_directory_names_the_first() {
    let dir = std::env::temp_dir().join(format!("shop-api-embedded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.join("postgres");
    let start = |port: u16| {
        runtime_command(port, "1")
            .env_remove("DATABASE_URL")
            .env("EMBEDDED_PG_DIR", &data_dir)
            .spawn()
            .expect("starting the runtime binary")
    };
    let port = free_port();
    let mut first = start(port);
    wait_healthy(port).await;
    let log = data_dir.join("server.log");
    let log_before = std::fs::metadata(&log).unwrap().len();
    assert!(log_before > 0);

    let second = start(free_port()).wait_with_output().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("another shop-api (pid {}", first.id())),
        "{stderr}"
    );
    assert!(std::fs::metadata(&log).unwrap().len() >= log_before);
    let answer = get(port, "/health").await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    signal(&first, libc::SIGTERM);
    assert!(exit_within(&mut first, Duration::from_secs(20))
        .await
        .success());
    let _ = std::fs::remove_dir_all(&dir);
}

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

/// What an operator reads: plain text in a file (no colour codes), the
/// route table and the address once per process, no PostgreSQL NOTICEs,
/// latency in milliseconds with three decimals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_plain_and_says_each_thing_once() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = runtime_command(port, "2")
        .env("DATABASE_URL", &database_url)
        .env("LOG_LEVEL", "info")
        .spawn()
        .expect("starting the runtime binary");
    wait_healthy(port).await;
    get(port, "/api/users/1").await;
    let log = process::stop_and_read_log(&mut child).await;

    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log}"
    );
    assert_eq!(log.matches(" listening").count(), 1, "{log}");
    let get_user_routes = log
        .lines()
        .filter(|l| l.contains(" route ") && l.contains("function=\"users-get\""))
        .count();
    assert_eq!(get_user_routes, 1, "{log}");
    assert!(!log.contains("skipping"), "a NOTICE at INFO:\n{log}");
    let access = log
        .lines()
        .find(|l| l.contains("route=\"/api/users/{id}\""))
        .unwrap_or_else(|| panic!("no access line:\n{log}"));
    let latency = access
        .split("latency_ms=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    let (whole, fraction) = latency.split_once('.').unwrap_or_default();
    assert!(
        !whole.is_empty() && fraction.len() == 3,
        "latency_ms={latency} in {access}"
    );
}

/// A line logged while a request runs names the request, as the line of
/// its access log does: here the warning of a function held past its time
/// limit by a lock the test holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_logged_in_a_request_carries_its_id() {
    let database_url = test_support::fresh_database().await;
    let port = free_port();
    let mut child = runtime_command(port, "1")
        .env("DATABASE_URL", &database_url)
        .env("FUNCTION_LIMITS", "products-get=timeout_ms:300")
        .spawn()
        .expect("starting the runtime binary");
    wait_healthy(port).await;
    let (mut holder, connection) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls)
        .await
        .expect("connecting to the test database");
    tokio::spawn(connection);
    let lock = holder.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let answer = process::get(
        port,
        "/api/products/1",
        &[("X-Request-Id", "held-by-a-lock")],
    )
    .await
    .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    lock.rollback().await.unwrap();
    let log = process::stop_and_read_log(&mut child).await;
    let warning = log
        .lines()
        .find(|line| line.contains("ran past its time limit"))
        .unwrap_or_else(|| panic!("no warning for the timed-out request:\n{log}"));
    assert!(
        warning.contains(" WARN request{id=held-by-a-lock}: host::instance: "),
        "{warning}"
    );
    assert!(warning.contains("function=\"products-get\""), "{warning}");
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
