//! W3C Trace Context: the caller's `traceparent` and `tracestate` read
//! from a request, within the bounds the specification sets.

use http::header::{HeaderMap, HeaderName};

pub(crate) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The caller's place in a trace, from `traceparent` / `tracestate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
    pub trace_state: String,
}

impl Parent {
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; anything
    /// else (or all-zero ids) is ignored, as the spec says, and the request
    /// starts a trace of its own.
    pub fn from_headers(headers: &HeaderMap) -> Option<Parent> {
        let value = headers.get(&TRACEPARENT)?.to_str().ok()?.trim();
        let mut parts = value.split('-');
        let version = parts.next()?;
        hex_array::<1>(version)?;
        let trace_id = hex_array::<16>(parts.next()?)?;
        let span_id = hex_array::<8>(parts.next()?)?;
        let flags = hex_array::<1>(parts.next()?)?[0];
        // Version 00 has exactly four fields; a later version may add more.
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        let trace_state = trace_state(headers);
        Some(Parent {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            trace_state,
        })
    }
}

/// Most list members `tracestate` may have (W3C Trace Context §3.3.1.1).
const TRACESTATE_MEMBERS: usize = 32;
/// The longest `tracestate` carried on: the length every vendor must be
/// able to propagate (§3.3.1.5). A longer one is dropped whole, so that what
/// a caller writes cannot grow each exported span without bound.
const TRACESTATE_BYTES: usize = 512;

/// The caller's `tracestate` lines joined, or empty when it is too long or
/// has too many members to carry on.
fn trace_state(headers: &HeaderMap) -> String {
    let mut joined = String::new();
    for value in headers.get_all(&TRACESTATE) {
        let Ok(value) = value.to_str() else {
            return String::new();
        };
        let separator = usize::from(!joined.is_empty());
        if joined.len() + separator + value.len() > TRACESTATE_BYTES {
            return String::new();
        }
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(value);
    }
    let members = joined.split(',').filter(|m| !m.trim().is_empty()).count();
    if members > TRACESTATE_MEMBERS {
        return String::new();
    }
    joined
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// Lower-case hex, as trace ids are written.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}
