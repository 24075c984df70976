//! `/metrics`: a valid Prometheus exposition whose labels are bounded
//! (route templates, never raw paths), on the main listener or its own.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the requests only feed the exposition, whose labels are what is tested
//! (an unknown route among them, which no typed client can ask for).

use std::io::Write;
use std::process::{Command, Stdio};

use test_support::{process, TestApp};

async fn exposition(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    response.assert_status(200);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    String::from_utf8(response.body.to_vec()).unwrap()
}

fn has_line(exposition: &str, needles: &[&str]) -> bool {
    exposition
        .lines()
        .any(|line| !line.starts_with('#') && needles.iter().all(|n| line.contains(n)))
}

#[tokio::test]
async fn traffic_shows_up_with_bounded_labels() {
    let app = TestApp::start(&[users_get::FUNCTION, users_list::FUNCTION]).await;
    app.get("/api/users/1").await.assert_status(200);
    app.get("/api/users/4242").await.assert_status(404);
    app.get("/api/users?limit=1").await.assert_status(200);
    app.get("/no/such/route/7").await.assert_status(404);
    let text = exposition(&app).await;

    assert!(has_line(
        &text,
        &[
            "http_server_request_duration_seconds_bucket{",
            "http_request_method=\"GET\"",
            "http_route=\"/api/users/{id}\"",
            "http_response_status_code=\"404\"",
            "function=\"users-get\"",
        ]
    ));
    assert!(has_line(
        &text,
        &[
            "http_server_request_duration_seconds_count{",
            "function=\"users-list\""
        ]
    ));
    assert!(has_line(
        &text,
        &["http_server_active_requests{", "function=\"users-get\""]
    ));
    assert!(has_line(&text, &["http_route=\"unmatched\""]));
    assert!(
        !text.contains("/api/users/4242") && !text.contains("/no/such/route"),
        "a raw path became a label"
    );
    for family in [
        "function_rejections_total",
        "db_pool_connections{state=\"in_use\"}",
        "db_pool_connections{state=\"idle\"}",
        "db_pool_max_connections",
        "db_pool_pending_requests",
        "db_pool_wait_seconds_bucket",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "build_info{",
    ] {
        assert!(text.contains(family), "{family} is missing:\n{text}");
    }
    promtool_check(&text);
}

/// `promtool check metrics`, when promtool is installed (`.ci/run` installs
/// it; without it, only the checks above run, and CI refuses to skip).
fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is required in CI: {error}"
            );
            eprintln!("promtool not installed ({error}); skipping its check");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // promtool exits non-zero for lint findings too; errors are what matter.
    assert!(!report.contains("error while linting"), "{report}");
    assert!(
        output.status.success() || !report.to_lowercase().contains("error"),
        "promtool: {report}"
    );
}

#[tokio::test]
async fn metrics_addr_moves_metrics_to_their_own_listener() {
    let app = TestApp::start_with(&[users_get::FUNCTION], |s| {
        s.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.get("/metrics").await.problem(404);
    let metrics_addr = app.running.as_ref().unwrap().metrics_addr.unwrap();
    let answer = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("build_info"));
}

/// The value of the sample whose line starts with `name` (and labels).
fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// The whole answer to `GET path`, empty when there was none.
async fn raw_get(port: u16, path: &str) -> String {
    process::get(port, path, &[]).await.unwrap_or_default()
}

/// With two workers each scrape is answered by one of them, yet reports the
/// process: the pool sizes summed, connections as PostgreSQL counts them,
/// counters that never go back, and every counter there from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_workers_every_scrape_reports_the_whole_process() {
    let database_url = test_support::fresh_database().await;
    let port = process::free_port();
    let mut child = process::runtime_command(env!("CARGO_BIN_EXE_runtime"), port)
        .env("DATABASE_URL", &database_url)
        .env("WORKERS", "2")
        .env("POOL_SIZE", "20")
        .spawn()
        .expect("starting the runtime binary");
    process::wait_healthy(port).await;

    let first = raw_get(port, "/metrics").await;
    for counter in [
        "db_pool_connection_errors_total",
        "db_pool_get_timeouts_total",
        "db_pool_connections_closed_broken_total",
        "db_connections_abandoned_total",
        "http_accept_errors_total",
        "http_connections_closed_silent_total",
    ] {
        assert_eq!(
            sample(&first, counter),
            Some(0.0),
            "{counter} from the start; the scrape began: {}",
            first.get(..200).unwrap_or(&first)
        );
    }

    // Load on both workers: many connections, each worker's pool busy.
    let load: Vec<_> = (0..16)
        .map(|i| {
            tokio::spawn(async move {
                for _ in 0..30 {
                    let path = if i % 2 == 0 {
                        "/api/orders/1"
                    } else {
                        "/api/users/1"
                    };
                    raw_get(port, path).await;
                }
            })
        })
        .collect();
    let mut scrapes = Vec::new();
    for _ in 0..10 {
        scrapes.push(raw_get(port, "/metrics").await);
    }
    for task in load {
        task.await.unwrap();
    }
    let mut last_requests = 0.0;
    for scrape in &scrapes {
        assert_eq!(sample(scrape, "db_pool_max_connections"), Some(20.0));
        let requests: f64 = scrape
            .lines()
            .filter(|l| l.starts_with("http_server_request_duration_seconds_count"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(requests >= last_requests, "a counter went back");
        last_requests = requests;
    }

    // At rest, the pool's connections are the ones PostgreSQL sees.
    let checker = test_support::connect(&database_url).await.unwrap();
    let backends = "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let scrape = raw_get(port, "/metrics").await;
    let open = sample(&scrape, "db_pool_connections{state=\"in_use\"}").unwrap()
        + sample(&scrape, "db_pool_connections{state=\"idle\"}").unwrap();
    let seen: i64 = checker.query_one(backends, &[]).await.unwrap().get(0);
    assert_eq!(open as i64, seen, "{scrape}");
    assert!(open >= 2.0, "both workers hold connections: {open}");

    process::stop_and_read_log(&mut child).await;
}
