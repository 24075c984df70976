//! The listener: accept connections under a cap, serve HTTP/1.1 (and h2)
//! with hyper, and stop gracefully: stop accepting, let in-flight requests
//! finish within the grace period, then close what is left.
//!
//! A connection holds a slot from accept to close, so every way a client
//! can hold one open has a time limit: until its first bytes arrive (here,
//! since hyper's protocol detection would wait forever), until its request
//! head is complete and while it idles between requests (hyper's
//! `header_read_timeout`), and while its body trickles in (the service).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::server::balance::{Open, Seat};
use crate::server::service::{App, Response};
use crate::telemetry::metrics::{ACCEPT_ERRORS, CLOSED_SILENT};

/// How connections are limited.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub shutdown_grace: Duration,
}

/// What a listener serves.
pub trait Serve: Send + Sync + 'static {
    fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send;
}

impl Serve for App {
    fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send {
        App::handle(self, request, peer)
    }
}

/// Serves `listener` until `shutdown` resolves, then drains; with a
/// `seat`, also the connections other workers hand over, and hands some of
/// its own to them (`balance`).
pub async fn serve<H: Serve>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: ConnectionLimits,
    mut seat: Option<Seat>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Bounds both the wait for a request's head (slowloris) and the
        // idle time of a kept-alive connection.
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .max_buf_size(256 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(limits.header_read_timeout));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);

    loop {
        // At the cap, stop accepting: new connections wait in the kernel's
        // backlog rather than being accepted and starved.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer, open) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff.succeeded();
                    match &seat {
                        Some(seat) => match seat.place(stream, peer) {
                            Some((stream, peer)) => (stream, peer, Some(seat.opened())),
                            // Handed to another worker, with it goes the slot.
                            None => continue,
                        },
                        None => (stream, peer, None),
                    }
                }
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning,
                    // and say so without a line per attempt.
                    backoff.failed(&error).await;
                    continue;
                }
            },
            (stream, peer, open) = handed(&mut seat) => (stream, peer, Some(open)),
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |request| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler.handle(request, peer).await) }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_bytes_within = limits.header_read_timeout;
        tokio::spawn(async move {
            if !first_bytes(&stream, first_bytes_within).await {
                metrics::counter!(CLOSED_SILENT).increment(1);
                drop(slot);
                return;
            }
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop((slot, open));
        });
    }

    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace_ms = limits.shutdown_grace.as_millis() as u64, "grace period over; closing the remaining connections");
        }
    }
}

/// The next connection another worker hands over; never, without a seat.
async fn handed(seat: &mut Option<Seat>) -> (TcpStream, SocketAddr, Open) {
    if let Some(seat) = seat {
        if let Some(handed) = seat.handed().await {
            return handed;
        }
    }
    std::future::pending().await
}

/// Waits for a new connection's first bytes, for at most `within`: true
/// once they are there and hyper can tell HTTP/1 from h2 without waiting,
/// false when the client sent nothing, closed, or stalled inside the h2
/// preface. hyper's own header timeout starts only after this.
async fn first_bytes(stream: &TcpStream, within: Duration) -> bool {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = Instant::now() + within;
    let mut seen = [0u8; H2_PREFACE.len()];
    loop {
        // `peek` waits for data and leaves it for hyper to read.
        match tokio::time::timeout_at(deadline, stream.peek(&mut seen)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) if n == seen.len() || seen[..n] != H2_PREFACE[..n] => return true,
            // Part of the h2 preface: hyper would wait for the rest with no
            // limit, so wait here, within the deadline. (Peeked bytes stay
            // readable, so give the client a moment rather than spin.)
            Ok(Ok(_)) => {
                let pause = tokio::time::sleep(Duration::from_millis(5));
                if tokio::time::timeout_at(deadline, pause).await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// How the accept loop waits after a failed accept (out of file
/// descriptors, most often): 10 ms doubling to 1 s, reset by a success,
/// with one warning per second at most.
#[derive(Default)]
struct AcceptBackoff {
    delay: Option<Duration>,
    last_warning: Option<Instant>,
    suppressed: u64,
}

impl AcceptBackoff {
    fn succeeded(&mut self) {
        self.delay = None;
    }

    async fn failed(&mut self, error: &std::io::Error) {
        metrics::counter!(ACCEPT_ERRORS).increment(1);
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            tracing::warn!(%error, suppressed = self.suppressed, "accept failed; backing off");
            self.last_warning = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        let delay = self.delay.map_or(Duration::from_millis(10), |d| {
            (d * 2).min(Duration::from_secs(1))
        });
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }
}

/// Descriptors kept free beside client connections and database
/// connections: listeners, the runtime's own eventfds and pipes, the
/// embedded PostgreSQL's pipes, files read at start.
pub const RESERVED_FDS: u64 = 64;

/// Raises this process's soft limit on open files to its hard limit (the
/// soft default, often 1024, would cap connections far below what the
/// machine allows) and returns the limit now in force.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok(limit.rlim_cur)
}
