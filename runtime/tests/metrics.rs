//! `/metrics`: a valid Prometheus exposition whose labels are bounded
//! (route templates, never raw paths), on the main listener or its own.

use std::io::Write;
use std::process::{Command, Stdio};

use test_support::TestApp;

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
