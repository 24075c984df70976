//! Which request a log line was written in. The service runs each request
//! inside [`scope`], which holds its id (and trace id) in a task-local, and
//! the log's event format, [`RequestAware`], prints them on every line
//! logged while the request runs: `request{id=…}: ` in text, `"span"` and
//! `"spans"` in JSON, as tracing printed the `request` span this replaces.
//!
//! Why not that span: creating one formatted its fields into a string, took
//! a slot in the registry and was entered and left on every poll, about
//! 3,000 instructions a request, a seventh of a `/health` request's whole
//! cost in the runtime, paid even when nothing was logged. A task-local
//! costs a swap per poll, and a request that logs nothing (nearly all)
//! pays for nothing more.

use std::fmt;
use std::future::Future;

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;
use crate::telemetry::log_format::{json_scope, quoted, text_scope, timestamp};

tokio::task_local! {
    static REQUEST: Context;
}

/// What a line logged in a request says of it.
pub struct Context {
    pub request_id: String,
    /// The request's trace, when it has one (see `traces`).
    pub trace_id: Option<String>,
}

/// Runs `future` as the request `context` describes.
pub fn scope<F: Future>(context: Context, future: F) -> impl Future<Output = F::Output> {
    REQUEST.scope(context, future)
}

/// An event format: `inner` (tracing's own) for lines logged outside a
/// request, and for lines inside one the same fields with the request's
/// scope where tracing wrote its span's.
pub struct RequestAware<F> {
    inner: F,
    format: LogFormat,
}

impl<F> RequestAware<F> {
    /// `format` says which of tracing's formats `inner` is.
    pub fn new(inner: F, format: LogFormat) -> RequestAware<F> {
        RequestAware { inner, format }
    }
}

impl<S, N, F> FormatEvent<S, N> for RequestAware<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let in_request = REQUEST.try_with(|request| {
            let meta = event.metadata();
            match self.format {
                LogFormat::Text => {
                    writer.write_str(&text_head(request, meta, writer.has_ansi_escapes()))?;
                    ctx.format_fields(writer.by_ref(), event)?;
                }
                LogFormat::Json => {
                    // With `LOG_FORMAT=json` the fields format as one JSON
                    // object, whose members go into the line's own.
                    let mut fields = String::new();
                    ctx.format_fields(Writer::new(&mut fields), event)?;
                    writer.write_str(&json_line(request, meta, &fields))?;
                }
            }
            writeln!(writer)
        });
        match in_request {
            Ok(written) => written,
            Err(_) => self.inner.format_event(ctx, writer, event),
        }
    }
}

/// `<time> <LEVEL> request{id=…}: <target>: `, the fields to follow.
fn text_head(request: &Context, meta: &Metadata<'_>, ansi: bool) -> String {
    let mut head = Vec::with_capacity(128);
    timestamp(&mut head);
    head.push(b' ');
    let level = padded(meta.level());
    // Colour only for a person at a terminal, as tracing's own format.
    match ansi {
        true => {
            head.extend_from_slice(colour(meta.level()).as_bytes());
            head.extend_from_slice(level.as_bytes());
            head.extend_from_slice(b"\x1b[0m");
        }
        false => head.extend_from_slice(level.as_bytes()),
    }
    head.push(b' ');
    text_scope(&mut head, &request.request_id, request.trace_id.as_deref());
    head.extend_from_slice(meta.target().as_bytes());
    head.extend_from_slice(b": ");
    String::from_utf8_lossy(&head).into_owned()
}

/// tracing's flattened JSON: time, level, the members of `fields` (a JSON
/// object), target, span.
fn json_line(request: &Context, meta: &Metadata<'_>, fields: &str) -> String {
    let members = fields
        .trim()
        .strip_prefix('{')
        .and_then(|fields| fields.strip_suffix('}'))
        .unwrap_or_default();
    let mut line = Vec::with_capacity(192 + members.len());
    line.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(&mut line);
    line.extend_from_slice(b"\",\"level\":");
    quoted(&mut line, meta.level().as_str());
    line.push(b',');
    if !members.is_empty() {
        line.extend_from_slice(members.as_bytes());
        line.push(b',');
    }
    line.extend_from_slice(b"\"target\":");
    quoted(&mut line, meta.target());
    line.push(b',');
    json_scope(&mut line, &request.request_id, request.trace_id.as_deref());
    line.push(b'}');
    String::from_utf8_lossy(&line).into_owned()
}

/// The level, five wide, as tracing's text format writes it.
fn padded(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// The level's colour in tracing's text format.
fn colour(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "\x1b[35m",
        Level::DEBUG => "\x1b[34m",
        Level::INFO => "\x1b[32m",
        Level::WARN => "\x1b[33m",
        Level::ERROR => "\x1b[31m",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// The log, kept in memory.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Log {
        type Writer = Log;
        fn make_writer(&'a self) -> Log {
            self.clone()
        }
    }

    /// What the runtime's subscriber writes, in `format`, when a line is
    /// logged in a request and then one outside it.
    fn logged(format: LogFormat) -> Vec<String> {
        let log = Log::default();
        let builder = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(log.clone());
        let emit = || {
            let context = Context {
                request_id: "ab-\"1".to_owned(),
                trace_id: Some("0af7".to_owned()),
            };
            REQUEST.sync_scope(context, || tracing::warn!(product = 4, "stock low"));
            tracing::info!(addr = "0.0.0.0:5000", "listening");
        };
        match format {
            LogFormat::Text => {
                let subscriber = builder
                    .map_event_format(|f| RequestAware::new(f, format))
                    .finish();
                tracing::subscriber::with_default(subscriber, emit);
            }
            LogFormat::Json => {
                let subscriber = builder
                    .json()
                    .flatten_event(true)
                    .map_event_format(|f| RequestAware::new(f, format))
                    .finish();
                tracing::subscriber::with_default(subscriber, emit);
            }
        }
        let bytes = log.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_text_line_in_a_request_names_it_as_the_span_did() {
        let lines = logged(LogFormat::Text);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let (time, rest) = lines[0].split_once(' ').unwrap();
        assert_eq!(time.len(), "2026-01-01T00:00:00.000000Z".len(), "{lines:?}");
        let target = module_path!();
        assert_eq!(
            rest,
            format!(" WARN request{{id=ab-\"1 trace_id=0af7}}: {target}: stock low product=4")
        );
        assert!(
            lines[1].ends_with(&format!("  INFO {target}: listening addr=\"0.0.0.0:5000\"")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_json_line_in_a_request_has_its_span_and_the_fields_flattened() {
        let lines = logged(LogFormat::Json);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let inside: serde_json::Value = serde_json::from_str(&lines[0]).expect(&lines[0]);
        assert_eq!(inside["level"], "WARN");
        assert_eq!(inside["message"], "stock low");
        assert_eq!(inside["product"], 4);
        assert_eq!(inside["target"], module_path!());
        assert_eq!(inside["span"]["id"], "ab-\"1");
        assert_eq!(inside["span"]["trace_id"], "0af7");
        assert_eq!(inside["spans"][0], inside["span"]);
        assert!(inside["timestamp"].as_str().unwrap().ends_with('Z'));
        let outside: serde_json::Value = serde_json::from_str(&lines[1]).expect(&lines[1]);
        assert_eq!(outside["message"], "listening");
        assert!(outside.get("span").is_none(), "{outside}");
    }
}
