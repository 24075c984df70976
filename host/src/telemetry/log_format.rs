//! tracing's line formats, written by hand into a byte buffer: the
//! timestamp, quoted strings, numbers and the request's scope, as
//! `tracing_subscriber`'s text and JSON formats write them. The access log
//! (`access_log`) and the lines logged inside a request (`request_log`)
//! use them, so both read like every other line of the log.

use std::time::{SystemTime, UNIX_EPOCH};

/// `request{id=… trace_id=…}: `, as tracing's text format writes the span
/// a line was logged in; the id is printed as it is, as tracing printed it.
pub(crate) fn text_scope(out: &mut Vec<u8>, request_id: &str, trace_id: Option<&str>) {
    out.extend_from_slice(b"request{id=");
    out.extend_from_slice(request_id.as_bytes());
    if let Some(trace_id) = trace_id {
        out.extend_from_slice(b" trace_id=");
        out.extend_from_slice(trace_id.as_bytes());
    }
    out.extend_from_slice(b"}: ");
}

/// `"span":{…},"spans":[{…}]`, as tracing's JSON format writes the one
/// span a line was logged in.
pub(crate) fn json_scope(out: &mut Vec<u8>, request_id: &str, trace_id: Option<&str>) {
    out.extend_from_slice(b"\"span\":");
    json_span(out, request_id, trace_id);
    out.extend_from_slice(b",\"spans\":[");
    json_span(out, request_id, trace_id);
    out.push(b']');
}

/// `{"id":…,"trace_id":…,"name":"request"}`.
fn json_span(out: &mut Vec<u8>, request_id: &str, trace_id: Option<&str>) {
    out.extend_from_slice(b"{\"id\":");
    quoted(out, request_id);
    if let Some(trace_id) = trace_id {
        out.extend_from_slice(b",\"trace_id\":");
        quoted(out, trace_id);
    }
    out.extend_from_slice(b",\"name\":\"request\"}");
}

/// `text` in double quotes, with `"`, `\` and control characters escaped
/// (`\u00XX`), which reads the same in both formats: valid JSON, and
/// unambiguous as text. Other characters pass as they are (UTF-8).
pub(crate) fn quoted(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Runs of plain bytes go in whole: a path or route has nothing to
    // escape, and a byte at a time cost ten times as much.
    let mut plain = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0..=0x1f | 0x7f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..at]);
        out.extend_from_slice(escaped);
        plain = at + 1;
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `value` in decimal, zero-padded to at least `width` digits.
pub(crate) fn number(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 || digits.len() - start < width {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[start..]);
}

/// Now in UTC, RFC 3339 with microseconds: `2026-01-01T00:00:00.000000Z`.
pub(crate) fn timestamp(out: &mut Vec<u8>) {
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

    #[test]
    fn the_json_scope_is_json_whatever_the_id() {
        let mut out = b"{".to_vec();
        json_scope(&mut out, "a\"b\\c", Some("0af7"));
        out.push(b'}');
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["span"]["id"], "a\"b\\c");
        assert_eq!(value["span"]["trace_id"], "0af7");
        assert_eq!(value["spans"][0], value["span"]);
        assert_eq!(value["span"]["name"], "request");
    }
}
