//! The access log: one line per request, formatted by hand (integers only,
//! no `core::fmt`) into a buffer of the worker thread's own, and handed to
//! the log's writer a batch at a time. A request pays for no system call,
//! no lock and no allocation for its line; this was a fifth of the
//! runtime's CPU on `/health` when each line was a tracing event written
//! to stderr on its own.
//!
//! A batch is handed over when it reaches [`BATCH_BYTES`], when its first
//! line is [`BATCH_AGE`] old and when the thread ends, so a line is out
//! within [`BATCH_AGE`] whether traffic goes on or stops. On a
//! current-thread runtime (the per-core workers) a task of its own,
//! [`flusher`], hands a batch over at its age when no request comes to do
//! it; a multi-threaded runtime has no task that stays on one thread, so
//! it calls [`flush`] from tokio's park hook instead. (Handing over at
//! every park was the workers' way too, until it measured a third of
//! `/health`'s CPU: a worker a little short of saturation parks thousands
//! of times a second, and each hand-over woke the log's writer.) Lines
//! look like the rest of the log: tracing's text format, or its JSON with
//! `LOG_FORMAT=json`.

use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::config::LogFormat;
use crate::telemetry::log_format::{json_scope, number, quoted, text_scope, timestamp};

/// Where batches of lines go: the binary installs its log writer; without
/// one (tests that run the host in-process) they go to stderr.
pub type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

const BATCH_BYTES: usize = 32 * 1024;
const BATCH_AGE: Duration = Duration::from_millis(100);

/// Sends every later batch to `sink`; false if one was installed already.
pub fn install(sink: Sink) -> bool {
    SINK.set(sink).is_ok()
}

/// One finished request, as its line tells it.
pub struct Line<'a> {
    pub request_id: &'a str,
    /// The request's trace, when it has one (see `traces`).
    pub trace_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency: Duration,
}

/// Adds `line` to this thread's batch; `now` is when the request ended.
pub fn write(format: LogFormat, line: &Line<'_>, now: Instant) {
    BATCH.with(|batch| {
        let Ok(mut batch) = batch.try_borrow_mut() else {
            return;
        };
        let since = match batch.since {
            Some(since) => since,
            None => {
                // A new batch: the flusher, if any, starts counting its age.
                if let Some(flusher) = batch.flusher.take() {
                    flusher.wake();
                }
                *batch.since.insert(now)
            }
        };
        let out = &mut batch.bytes;
        match format {
            LogFormat::Text => text(out, line),
            LogFormat::Json => json(out, line),
        }
        if out.len() >= BATCH_BYTES || now.saturating_duration_since(since) >= BATCH_AGE {
            batch.hand_over();
        }
    });
}

/// Hands this thread's lines over now.
pub fn flush() {
    BATCH.with(|batch| {
        if let Ok(mut batch) = batch.try_borrow_mut() {
            batch.hand_over();
        }
    });
}

/// Hands this thread's batch over once its first line is [`BATCH_AGE`]
/// old, whether or not another request comes. Spawn it once on each
/// current-thread runtime; it sleeps while the batch is empty, so an idle
/// worker is not woken for it.
pub async fn flusher() {
    loop {
        let since = std::future::poll_fn(|cx| {
            BATCH.with(|batch| match batch.try_borrow_mut() {
                Ok(mut batch) => match batch.since {
                    Some(since) => Poll::Ready(since),
                    None => {
                        batch.flusher = Some(cx.waker().clone());
                        Poll::Pending
                    }
                },
                // Never while this task runs (no borrow lives across an
                // await); should it be, look again after an age.
                Err(_) => Poll::Ready(Instant::now()),
            })
        })
        .await;
        tokio::time::sleep_until((since + BATCH_AGE).into()).await;
        BATCH.with(|batch| {
            if let Ok(mut batch) = batch.try_borrow_mut() {
                // Not if it went out full meanwhile and a younger one began.
                if batch.since == Some(since) {
                    batch.hand_over();
                }
            }
        });
    }
}

struct Batch {
    bytes: Vec<u8>,
    since: Option<Instant>,
    /// The [`flusher`] waiting for this thread's next batch to begin.
    flusher: Option<Waker>,
}

thread_local! {
    static BATCH: RefCell<Batch> = const {
        RefCell::new(Batch {
            bytes: Vec::new(),
            since: None,
            flusher: None,
        })
    };
}

impl Batch {
    fn hand_over(&mut self) {
        if self.bytes.is_empty() {
            return;
        }
        match SINK.get() {
            Some(sink) => sink(&self.bytes),
            None => {
                let _ = std::io::stderr().write_all(&self.bytes);
            }
        }
        self.bytes.clear();
        self.since = None;
    }
}

/// A thread that ends writes out what it holds.
impl Drop for Batch {
    fn drop(&mut self) {
        self.hand_over();
    }
}

/// `2026-01-01T00:00:00.000000Z  INFO request{id=…}: access: method=GET
/// path="/health" route="/health" status=200 latency_ms=0.042`
fn text(out: &mut Vec<u8>, line: &Line<'_>) {
    timestamp(out);
    out.extend_from_slice(b"  INFO ");
    text_scope(out, line.request_id, line.trace_id);
    out.extend_from_slice(b"access: method=");
    out.extend_from_slice(line.method.as_bytes());
    out.extend_from_slice(b" path=");
    quoted(out, line.path);
    out.extend_from_slice(b" route=");
    quoted(out, line.route);
    out.extend_from_slice(b" status=");
    number(out, u64::from(line.status), 1);
    out.extend_from_slice(b" latency_ms=");
    millis(out, line.latency);
    out.push(b'\n');
}

/// The same line as tracing's JSON format, flattened, writes it.
fn json(out: &mut Vec<u8>, line: &Line<'_>) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(out);
    out.extend_from_slice(b"\",\"level\":\"INFO\",\"method\":");
    quoted(out, line.method);
    out.extend_from_slice(b",\"path\":");
    quoted(out, line.path);
    out.extend_from_slice(b",\"route\":");
    quoted(out, line.route);
    out.extend_from_slice(b",\"status\":");
    number(out, u64::from(line.status), 1);
    out.extend_from_slice(b",\"latency_ms\":");
    millis(out, line.latency);
    out.extend_from_slice(b",\"target\":\"access\",");
    json_scope(out, line.request_id, line.trace_id);
    out.extend_from_slice(b"}\n");
}

/// A duration in milliseconds with three decimals: `0.042`.
fn millis(out: &mut Vec<u8>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    number(out, micros / 1000, 1);
    out.push(b'.');
    number(out, micros % 1000, 3);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(path: &str) -> Line<'_> {
        Line {
            request_id: "ab-1",
            trace_id: None,
            method: "GET",
            path,
            route: "/api/users/{id}",
            status: 200,
            latency: Duration::from_micros(1_042),
        }
    }

    #[test]
    fn text_lines_read_as_tracing_wrote_them() {
        let mut out = Vec::new();
        text(&mut out, &line("/api/users/7"));
        let out = String::from_utf8(out).unwrap();
        let (time, rest) = out.split_once("  ").unwrap();
        assert_eq!(time.len(), "2026-01-01T00:00:00.000000Z".len(), "{out}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{out}");
        assert_eq!(
            rest,
            "INFO request{id=ab-1}: access: method=GET path=\"/api/users/7\" \
             route=\"/api/users/{id}\" status=200 latency_ms=1.042\n"
        );
    }

    #[test]
    fn json_lines_are_json_whatever_the_path() {
        let mut out = Vec::new();
        let path = "/a\"b\\c\u{7f}\u{1}\u{e9}";
        json(&mut out, &line(path));
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["path"], path);
        assert_eq!(value["status"], 200);
        assert_eq!(value["latency_ms"], 1.042);
        assert_eq!(value["target"], "access");
        assert_eq!(value["span"]["id"], "ab-1");
    }
}
