//! The access log: one line per request, formatted by hand (integers only,
//! no `core::fmt`) into a buffer of the worker thread's own, and handed to
//! the log's writer a batch at a time. A request pays for no system call,
//! no lock and no allocation for its line; this was a fifth of the
//! runtime's CPU on `/health` when each line was a tracing event written
//! to stderr on its own.
//!
//! A batch is handed over when it reaches [`BATCH_BYTES`], when its first
//! line is [`BATCH_AGE`] old, when the thread goes idle (the runtime calls
//! [`flush`] from tokio's park hook) and when the thread ends. So under
//! load a line is written within a few milliseconds, and when traffic
//! stops, at once. Lines look like the rest of the log: tracing's text
//! format, or its JSON with `LOG_FORMAT=json`.

use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::LogFormat;

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
        let since = *batch.since.get_or_insert(now);
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

struct Batch {
    bytes: Vec<u8>,
    since: Option<Instant>,
}

thread_local! {
    static BATCH: RefCell<Batch> = const {
        RefCell::new(Batch {
            bytes: Vec::new(),
            since: None,
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
    out.extend_from_slice(b"  INFO request{id=");
    out.extend_from_slice(line.request_id.as_bytes());
    if let Some(trace_id) = line.trace_id {
        out.extend_from_slice(b" trace_id=");
        out.extend_from_slice(trace_id.as_bytes());
    }
    out.extend_from_slice(b"}: access: method=");
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
    out.extend_from_slice(b",\"target\":\"access\",\"span\":");
    span(out, line);
    out.extend_from_slice(b",\"spans\":[");
    span(out, line);
    out.extend_from_slice(b"]}\n");
}

/// `{"id":…,"trace_id":…,"name":"request"}`, as tracing writes the span.
fn span(out: &mut Vec<u8>, line: &Line<'_>) {
    out.extend_from_slice(b"{\"id\":");
    quoted(out, line.request_id);
    if let Some(trace_id) = line.trace_id {
        out.extend_from_slice(b",\"trace_id\":");
        quoted(out, trace_id);
    }
    out.extend_from_slice(b",\"name\":\"request\"}");
}

/// `text` in double quotes, with `"`, `\` and control characters escaped
/// (`\u00XX`), which reads the same in both formats: valid JSON, and
/// unambiguous as text. Other characters pass as they are (UTF-8).
fn quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for &byte in text.as_bytes() {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0..=0x1f | 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

/// `value` in decimal, zero-padded to at least `width` digits.
fn number(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 || digits.len() - start < width {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[start..]);
}

/// A duration in milliseconds with three decimals: `0.042`.
fn millis(out: &mut Vec<u8>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    number(out, micros / 1000, 1);
    out.push(b'.');
    number(out, micros % 1000, 3);
}

/// Now in UTC, RFC 3339 with microseconds: `2026-01-01T00:00:00.000000Z`.
fn timestamp(out: &mut Vec<u8>) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_epoch.as_secs();
    // The date and time to the second change once a second; a busy thread
    // writes thousands of lines in between.
    thread_local! {
        static SECOND: std::cell::Cell<(u64, [u8; 20])> = const { std::cell::Cell::new((u64::MAX, [0; 20])) };
    }
    let (cached, mut prefix) = SECOND.get();
    if cached != seconds {
        let mut text = Vec::with_capacity(20);
        let (year, month, day) = civil_date(seconds / 86_400);
        let in_day = seconds % 86_400;
        number(&mut text, year, 4);
        text.push(b'-');
        number(&mut text, month, 2);
        text.push(b'-');
        number(&mut text, day, 2);
        text.push(b'T');
        number(&mut text, in_day / 3600, 2);
        text.push(b':');
        number(&mut text, in_day / 60 % 60, 2);
        text.push(b':');
        number(&mut text, in_day % 60, 2);
        text.push(b'.');
        match <[u8; 20]>::try_from(text.as_slice()) {
            Ok(text) => {
                prefix = text;
                SECOND.set((seconds, prefix));
            }
            // A year past 9999: as it is, uncached.
            Err(_) => {
                out.extend_from_slice(&text);
                number(out, u64::from(since_epoch.subsec_micros()), 6);
                out.push(b'Z');
                return;
            }
        }
    }
    out.extend_from_slice(&prefix);
    number(out, u64::from(since_epoch.subsec_micros()), 6);
    out.push(b'Z');
}

/// (year, month, day) of the day `days` after 1970-01-01, proleptic
/// Gregorian (Howard Hinnant's `civil_from_days`, for days ≥ 0).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(11_017), (2000, 3, 1));
        assert_eq!(civil_date(20_418), (2025, 11, 26));
        assert_eq!(civil_date(20_818), (2026, 12, 31));
        assert_eq!(civil_date(20_819), (2027, 1, 1));
    }

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
