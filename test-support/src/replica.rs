//! A primary and a real streaming replica of it (`pg_basebackup -R`), for
//! the read-replica tests. Both run from the installed PostgreSQL binaries
//! in temporary directories and stop when the pair is dropped.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use host::embedded::{find_binaries, postgres_owner, EmbeddedOptions, EmbeddedPostgres};

use crate::PrivateCluster;

/// Pairs started by this process, so that each has a directory of its own.
static PAIRS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A primary and one streaming replica.
pub struct StreamingPair {
    pub primary: PrivateCluster,
    pub replica: EmbeddedPostgres,
}

impl StreamingPair {
    /// Starts both.
    pub fn start() -> StreamingPair {
        let primary = PrivateCluster::start();
        let data_dir = primary.postgres.data_dir().with_file_name(format!(
            "{}-replica-{}",
            std::process::id(),
            PAIRS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        let bin = find_binaries().expect("the PostgreSQL binaries");
        let mut backup = Command::new(bin.join("pg_basebackup"));
        backup
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &primary.postgres.port().to_string(),
            ])
            .args(["-U", "postgres", "-X", "stream", "-R", "-c", "fast", "-D"])
            .arg(&data_dir)
            .stdin(Stdio::null());
        if let Some((uid, gid)) = postgres_owner().expect("a postgres user") {
            backup.uid(uid).gid(gid).env("HOME", "/tmp");
        }
        let output = backup.output().expect("running pg_basebackup");
        assert!(
            output.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let replica = EmbeddedPostgres::start(&EmbeddedOptions {
            data_dir,
            durable: false,
            port: None,
            settings: Vec::new(),
        })
        .expect("starting the replica");
        StreamingPair { primary, replica }
    }
}

impl StreamingPair {
    /// A `shop` database made on the primary, once replication has brought
    /// it to the replica: (primary URL, replica URL).
    pub async fn shop(&self) -> (String, String) {
        host::embedded::ensure_database(&self.primary.url(), "shop")
            .await
            .expect("creating the database");
        let replica = self.replica.url("shop");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while crate::connect(&replica).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the replica never got the database"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        (self.primary.postgres.url("shop"), replica)
    }
}

impl Drop for StreamingPair {
    fn drop(&mut self) {
        self.replica.stop();
        let _ = std::fs::remove_dir_all(self.replica.data_dir());
    }
}
