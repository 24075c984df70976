//! A local PostgreSQL from the installed server binaries, for running the
//! service (and its tests) with no `DATABASE_URL`.
//!
//! The binaries are found on `PATH` or under `/usr/lib/postgresql/*/bin`.
//! The cluster is made with `initdb` on first use, started as a child
//! process listening on a free loopback port, and stopped when the runtime
//! stops (or dies, even by SIGKILL: the kernel then sends it SIGTERM). Run as
//! root, it runs as the `postgres` user, as PostgreSQL insists.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod error;
mod install;
mod postmaster;

use error::io;
pub use error::EmbeddedError;

use install::{as_owner, init_cluster};
pub use install::{find_binaries, postgres_owner};
use postmaster::running_owner;

/// How the cluster is run.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    pub data_dir: PathBuf,
    /// Off for throwaway test clusters: faster, and nothing to keep.
    pub durable: bool,
    /// A fixed port (to restart on the same address); else a free one.
    pub port: Option<u16>,
    /// Extra server settings, passed as `-c name=value`.
    pub settings: Vec<(String, String)>,
}

/// A running local cluster; stopped on drop.
pub struct EmbeddedPostgres {
    child: Child,
    /// The thread that started it, alive as long as the cluster: held for
    /// its drop, which ends the thread after the server has stopped.
    _keeper: Keeper,
    port: u16,
    data_dir: PathBuf,
    options: EmbeddedOptions,
}

/// The thread that spawns PostgreSQL and then waits. The kernel stops the
/// server (SIGTERM) when that thread ends: here only after the cluster was
/// stopped, or when the whole process dies, even by SIGKILL. A thread of
/// its own, so that no caller has to keep theirs alive for it.
struct Keeper {
    thread: Option<std::thread::JoinHandle<()>>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Keeper {
    fn spawn(mut command: Command) -> Result<(Child, Keeper), std::io::Error> {
        use std::sync::atomic::{AtomicBool, Ordering};
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to
        // send SIGTERM to this child when the thread that spawned it ends.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("embedded-postgres".into())
            .spawn({
                let done = done.clone();
                move || {
                    let _ = sender.send(command.spawn());
                    while !done.load(Ordering::Acquire) {
                        std::thread::park();
                    }
                }
            })?;
        let child = receiver
            .recv()
            .map_err(|_| std::io::Error::other("the thread starting postgres died"))??;
        Ok((
            child,
            Keeper {
                thread: Some(thread),
                done,
            },
        ))
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl EmbeddedPostgres {
    pub fn start(options: &EmbeddedOptions) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin = find_binaries().ok_or(EmbeddedError::NotInstalled)?;
        let owner = postgres_owner()?;
        let data_dir = absolute(&options.data_dir)?;
        if !data_dir.join("PG_VERSION").exists() {
            init_cluster(&bin, &data_dir, owner)?;
        }
        if let Some(owner) = running_owner(&data_dir) {
            return Err(EmbeddedError::InUse { owner, data_dir });
        }
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let log_path = data_dir.join("server.log");
        // Appended: the log of earlier runs is what explains a crash.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("open the server log", &log_path))?;
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::chown(&log_path, Some(uid), Some(gid));
        }
        let mut command = Command::new(bin.join("postgres"));
        command
            .arg("-D")
            .arg(&data_dir)
            .args(["-p", &port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .map_err(io("open the server log", &log_path))?,
            )
            .stderr(log);
        for (name, value) in &options.settings {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        if !options.durable {
            command.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        as_owner(&mut command, owner);
        let (child, keeper) = Keeper::spawn(command).map_err(io("start postgres", &bin))?;
        let mut cluster = EmbeddedPostgres {
            child,
            _keeper: keeper,
            port,
            data_dir,
            options: EmbeddedOptions {
                port: Some(port),
                ..options.clone()
            },
        };
        cluster.wait_until_ready(Duration::from_secs(30), &log_path)?;
        Ok(cluster)
    }

    /// Stops the server as `mode` says and starts it again on the same port.
    pub fn restart(&mut self, mode: Shutdown) -> Result<(), EmbeddedError> {
        self.stop_with(mode);
        let fresh = EmbeddedPostgres::start(&self.options)?;
        // Swap in the new child; the old one has exited.
        *self = fresh;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database` (the superuser, trusted on loopback).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn wait_until_ready(&mut self, patience: Duration, log: &Path) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(EmbeddedError::Command {
                    command: "postgres".into(),
                    output: format!("exited with {status}; see {}", log.display()),
                });
            }
            // Accepting TCP is not yet accepting sessions. The server says
            // when it is in its pid file, as `pg_ctl -w` reads it: asking
            // with a connection (pg_isready) would log a FATAL for every
            // attempt made while it starts.
            let ready = postmaster::accepts_connections(&self.data_dir);
            if ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(EmbeddedError::NotReady(patience, log.to_owned()))
    }

    /// Fast shutdown: sessions are ended, work is flushed.
    pub fn stop(&mut self) {
        self.stop_with(Shutdown::Fast);
    }

    /// Stops the server the way `mode` says (tests use both).
    pub fn stop_with(&mut self, mode: Shutdown) {
        if let Ok(None) = self.child.try_wait() {
            let signal = match mode {
                Shutdown::Fast => libc::SIGINT,
                Shutdown::Immediate => libc::SIGQUIT,
            };
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, signal);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How PostgreSQL is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// SIGINT: sessions are ended and a checkpoint written.
    Fast,
    /// SIGQUIT: the server dies at once and recovers from WAL next start.
    Immediate,
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedError> {
    std::path::absolute(path).map_err(io("resolve the data directory", path))
}

fn free_port() -> Result<u16, EmbeddedError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(io("find a free port", Path::new("127.0.0.1")))?;
    let port = listener
        .local_addr()
        .map_err(io("find a free port", Path::new("127.0.0.1")))?
        .port();
    Ok(port)
}

/// Creates `database` on the cluster at `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, database: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
        .await?
        .is_some();
    if !exists {
        let quoted = database.replace('"', "\"\"");
        client
            .batch_execute(&format!("CREATE DATABASE \"{quoted}\""))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{find_binaries, EmbeddedOptions, EmbeddedPostgres};

    /// A normal start, on a fresh data directory and on an existing one,
    /// leaves no FATAL or ERROR in the server's log: a newcomer reading it
    /// should find nothing to worry about.
    #[test]
    fn a_normal_start_logs_no_error() {
        if find_binaries().is_none() && std::env::var_os("CI").is_none() {
            eprintln!("skipped: no PostgreSQL server binaries here");
            return;
        }
        let data_dir =
            std::env::temp_dir().join(format!("host-embedded-start-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let options = EmbeddedOptions {
            data_dir: data_dir.clone(),
            durable: false,
            port: None,
            settings: Vec::new(),
        };
        for _ in 0..2 {
            let mut cluster = EmbeddedPostgres::start(&options).expect("an embedded start");
            cluster.stop();
        }
        let log = std::fs::read_to_string(data_dir.join("server.log")).expect("the server log");
        let _ = std::fs::remove_dir_all(&data_dir);
        assert!(log.contains("ready to accept connections"), "{log}");
        let worrying: Vec<_> = log
            .lines()
            .filter(|line| line.contains("FATAL:") || line.contains("ERROR:"))
            .collect();
        assert!(worrying.is_empty(), "{worrying:#?}");
    }
}
