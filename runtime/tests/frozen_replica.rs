//! A replica that stops answering without going away: its processes
//! paused, its packets dropped, or a socket that accepts and never speaks.
//! Each is taken out of rotation within the watcher's probe bound, a read
//! waiting on it is answered from the primary (never a 504), and a replica
//! that answers again comes back by itself.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the requests only probe where reads are served and how long they take.

use std::time::{Duration, Instant};

use host::config::Secret;
use runtime::registry::FUNCTIONS;
use test_support::blackhole::Blackhole;
use test_support::replica::StreamingPair;
use test_support::TestApp;

const IN_ROTATION: &str = "db_replica_in_rotation{replica=\"1\"}";

async fn serve(primary: &str, replica: String) -> TestApp {
    TestApp::start_on(primary.to_owned(), FUNCTIONS, |settings| {
        settings.database_read_urls = vec![Secret::new(replica)];
    })
    .await
}

/// Waits up to 15 s for the replica's rotation gauge to read `value`.
async fn rotation_becomes(app: &TestApp, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = app.get("/metrics").await.text();
        let now = text.lines().find(|line| line.starts_with(IN_ROTATION));
        if now.is_some_and(|line| line.ends_with(&format!(" {value}"))) {
            return;
        }
        assert!(Instant::now() < deadline, "{now:?}, not {value}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads, each answered 200 well inside the function's time limit (10 s):
/// one of them may have been waiting on the replica as it froze.
async fn reads_answer(app: &TestApp) {
    for path in [
        "/api/users/1",
        "/api/products/1",
        "/api/orders/1",
        "/api/users",
    ] {
        let started = Instant::now();
        app.get(path).await.assert_status(200);
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{path}: {:?}",
            started.elapsed()
        );
    }
}

/// The replica's processes: its postmaster and the children it forked.
fn replica_processes(pair: &StreamingPair) -> Vec<i32> {
    let pid_file = pair.replica.data_dir().join("postmaster.pid");
    let text = std::fs::read_to_string(pid_file).expect("the replica's pid file");
    let postmaster: i32 = text
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .expect("a pid");
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid …`; comm may hold spaces, so read after ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<i32>().ok());
        if parent == Some(postmaster) {
            pids.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|p| p.parse::<i32>().ok()),
            );
        }
    }
    pids
}

fn signal_all(pids: &[i32], signal: libc::c_int) {
    for pid in pids {
        // SAFETY: kill(2) on pids this test started; no memory is shared.
        unsafe { libc::kill(*pid, signal) };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_replica_leaves_the_rotation_and_its_reads_go_to_the_primary() {
    let pair = StreamingPair::start();
    let (primary, replica) = pair.shop().await;
    let app = serve(&primary, replica).await;
    reads_answer(&app).await;

    let paused = replica_processes(&pair);
    signal_all(&paused, libc::SIGSTOP);
    // A read sent now may land on the paused replica's connection.
    let in_flight = app.get("/api/users/1");
    let answer = tokio::time::timeout(Duration::from_secs(8), in_flight).await;
    let waited = answer.map(|answer| answer.status.as_u16());
    rotation_becomes(&app, "0").await;
    reads_answer(&app).await;
    signal_all(&paused, libc::SIGCONT);
    assert_eq!(waited, Ok(200), "a read on the paused replica");
    rotation_becomes(&app, "1").await;
    reads_answer(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_packets_are_dropped_leaves_the_rotation_and_comes_back() {
    let pair = StreamingPair::start();
    let (primary, replica) = pair.shop().await;
    let relay = Blackhole::start(([127, 0, 0, 1], pair.replica.port()).into()).await;
    let through_relay = replica.replace(
        &format!(":{}/", pair.replica.port()),
        &format!(":{}/", relay.addr.port()),
    );
    let app = serve(&primary, through_relay).await;
    reads_answer(&app).await;

    relay.drop_packets();
    reads_answer(&app).await;
    rotation_becomes(&app, "0").await;
    relay.heal();
    rotation_becomes(&app, "1").await;
    reads_answer(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_accepts_and_never_answers_is_never_waited_on() {
    let pair = StreamingPair::start();
    let (primary, replica) = pair.shop().await;
    let silent = Blackhole::start(([127, 0, 0, 1], pair.replica.port()).into()).await;
    silent.drop_packets();
    let to_silence = replica.replace(
        &format!(":{}/", pair.replica.port()),
        &format!(":{}/", silent.addr.port()),
    );
    let app = serve(&primary, to_silence).await;
    reads_answer(&app).await;
    rotation_becomes(&app, "0").await;
    let db_check = app.get("/db-check").await;
    db_check.assert_status(200);
}
