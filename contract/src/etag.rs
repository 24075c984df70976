//! Entity tags (RFC 9110 §8.8.3) and the conditions built on them.
//!
//! A single resource's tag is what its row is: its id and the instant it
//! last changed, `"<id>-<updated_at in µs, hex>"`. `updated_at` moves
//! forward on every update of the row (`sql/07`), so two versions never
//! share a tag, and a handler can check `If-Match` in the same statement
//! that writes, by comparing `updated_at`, never check-then-write.
//!
//! `If-None-Match` on a GET is the runtime's business (it turns a matching
//! 200 into 304); `If-Match` is each writing function's, through
//! [`crate::Request::if_match`].

use chrono::{DateTime, Utc};
use http::HeaderValue;

use crate::{DbError, PgConn, Problem};

/// The strong tag of a row's version: `"<id>-<µs, hex>"`, written without
/// `core::fmt` (every read of a resource carries one).
pub fn for_row(id: i64, updated_at: DateTime<Utc>) -> HeaderValue {
    let hex = quoted_hex(updated_at.timestamp_micros() as u64);
    let digits = &hex[1..17];
    let significant = &digits[digits.iter().position(|d| *d != b'0').unwrap_or(15)..];
    let mut tag = Vec::with_capacity(40);
    tag.push(b'"');
    tag.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    tag.push(b'-');
    tag.extend_from_slice(significant);
    tag.push(b'"');
    // Digits, a dash and quotes: always a valid header value.
    HeaderValue::from_maybe_shared(bytes::Bytes::from(tag))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A body built into the binary, with its strong tag worked out when the
/// binary is compiled: `static DOC: Document = Document::new(…)`.
pub struct Document {
    pub content_type: &'static str,
    pub body: &'static [u8],
    tag: [u8; 18],
}

impl Document {
    pub const fn new(content_type: &'static str, body: &'static [u8]) -> Document {
        Document {
            content_type,
            body,
            tag: quoted_hex(fnv1a(body)),
        }
    }

    /// `"<FNV-1a of the body, hex>"`.
    pub fn tag(&'static self) -> HeaderValue {
        match std::str::from_utf8(&self.tag) {
            Ok(tag) => HeaderValue::from_static(tag),
            // Quotes and hex digits only, so never taken.
            Err(_) => HeaderValue::from_static("\"0\""),
        }
    }
}

/// FNV-1a: the tag only has to change with the content, not resist forgery.
const fn fnv1a(body: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut at = 0;
    while at < body.len() {
        hash ^= body[at] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        at += 1;
    }
    hash
}

/// `value` as 16 hex digits in double quotes.
const fn quoted_hex(value: u64) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut tag = [b'"'; 18];
    let mut digit = 0;
    while digit < 16 {
        tag[16 - digit] = HEX[((value >> (digit * 4)) & 0xf) as usize];
        digit += 1;
    }
    tag
}

/// What an `If-Match` header asks of the row with a given id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version; the row only has to exist.
    Any,
    /// The versions (`updated_at`) the client would accept; empty when none
    /// of its tags can be this row's, which no version matches.
    Versions(Vec<DateTime<Utc>>),
}

impl IfMatch {
    /// Parses the header for the row `id`: `*`, or a list of strong tags.
    /// Weak tags never match (strong comparison, RFC 9110 §13.1.1); a value
    /// that is not a list of tags at all is 400.
    pub fn parse(value: &str, id: i64) -> Result<IfMatch, Problem> {
        if value.trim() == "*" {
            return Ok(IfMatch::Any);
        }
        let mut versions = Vec::new();
        for tag in tags(value)? {
            if let Tag::Strong(opaque) = tag {
                if let Some(version) = row_version(opaque, id) {
                    versions.push(version);
                }
            }
        }
        Ok(IfMatch::Versions(versions))
    }

    /// The versions for a statement's `updated_at = ANY($n)`; `None` for any.
    pub fn versions(&self) -> Option<&[DateTime<Utc>]> {
        match self {
            IfMatch::Any => None,
            IfMatch::Versions(versions) => Some(versions),
        }
    }

    /// Whether the row's current version is one the client accepts.
    pub fn matches(&self, updated_at: DateTime<Utc>) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(versions) => versions.contains(&updated_at),
        }
    }
}

/// The 412 for a write whose `If-Match` names another version of the row,
/// with the tag of the version there is now.
pub fn precondition_failed(kind: &str, id: i64, current: DateTime<Utc>) -> Problem {
    Problem::new(
        http::StatusCode::PRECONDITION_FAILED,
        format!("{kind} {id} has changed since the version If-Match names; read it again and retry with its new ETag"),
    )
    .with_header(http::header::ETAG, for_row(id, current))
}

/// Why a write with `AND ($n::timestamptz[] IS NULL OR updated_at = ANY($n))`
/// touched no row: 412 with the current tag when the row is there in
/// another version, else 404. Asked after the write, never before it.
pub async fn unwritten(
    conn: &PgConn,
    version_sql: &'static str,
    kind: &str,
    id: i64,
    if_match: Option<&IfMatch>,
) -> Problem {
    if if_match.is_some() {
        match conn.query_opt(version_sql, &[&id]).await {
            Ok(Some(row)) => match row.try_get::<_, DateTime<Utc>>(0) {
                Ok(current) => return precondition_failed(kind, id, current),
                Err(error) => return DbError::from(error).into(),
            },
            Ok(None) => {}
            Err(error) => return error.into(),
        }
    }
    Problem::not_found_id(kind, id)
}

/// Whether `If-None-Match` (weak comparison, §13.1.2) matches `etag`: the
/// client holds this very version, and a GET may answer 304.
pub fn none_match_hits(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(value) = if_none_match.to_str() else {
        return false;
    };
    if value.trim() == "*" {
        return true;
    }
    let Ok(ours) = etag.to_str() else {
        return false;
    };
    let ours = ours.trim_start_matches("W/").trim_matches('"');
    match tags(value) {
        Ok(tags) => tags.iter().any(|tag| match tag {
            Tag::Strong(opaque) | Tag::Weak(opaque) => *opaque == ours,
        }),
        Err(_) => false,
    }
}

enum Tag<'a> {
    Strong(&'a str),
    Weak(&'a str),
}

/// `#entity-tag`: comma-separated `"…"` or `W/"…"`, quotes required.
fn tags(value: &str) -> Result<Vec<Tag<'_>>, Problem> {
    let malformed = || {
        Problem::bad_request(
            "If-Match / If-None-Match must be `*` or a list of quoted entity tags, e.g. \"42-5f1c\"",
        )
    };
    let mut tags = Vec::new();
    for item in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (weak, quoted) = match item.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let opaque = quoted
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .filter(|opaque| !opaque.contains('"'))
            .ok_or_else(malformed)?;
        tags.push(if weak {
            Tag::Weak(opaque)
        } else {
            Tag::Strong(opaque)
        });
    }
    if tags.is_empty() {
        return Err(malformed());
    }
    Ok(tags)
}

/// The `updated_at` a tag of [`for_row`]'s shape names, if it is row `id`'s.
fn row_version(opaque: &str, id: i64) -> Option<DateTime<Utc>> {
    let (tag_id, micros) = opaque.split_once('-')?;
    if tag_id.parse::<i64>().ok()? != id || micros.is_empty() || micros.len() > 16 {
        return None;
    }
    let micros = u64::from_str_radix(micros, 16).ok()?;
    DateTime::from_timestamp_micros(micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    #[test]
    fn a_row_tag_names_its_id_and_version() {
        let tag = for_row(42, at(0x5f1c));
        assert_eq!(tag, "\"42-5f1c\"");
        let parsed = IfMatch::parse(tag.to_str().unwrap(), 42).unwrap();
        assert!(parsed.matches(at(0x5f1c)));
        assert!(!parsed.matches(at(0x5f1d)));
        // Zero, the longest ids, the year 9999, and an instant before 1970.
        for (id, micros) in [
            (1, 0),
            (i64::MIN, -1),
            (i64::MAX, 253_402_300_799_999_999),
            (-7, -1),
            (3, 0x10),
        ] {
            let expected = format!("\"{id}-{:x}\"", micros as u64);
            assert_eq!(for_row(id, at(micros)), expected.as_str());
        }
    }

    #[test]
    fn if_match_takes_lists_and_star_and_never_a_weak_or_foreign_tag() {
        assert_eq!(IfMatch::parse("*", 1).unwrap(), IfMatch::Any);
        let list = IfMatch::parse("\"7-1\", \"1-a\" , W/\"1-b\"", 1).unwrap();
        assert_eq!(list, IfMatch::Versions(vec![at(0xa)]));
        assert_eq!(
            IfMatch::parse("\"nonsense\"", 1).unwrap(),
            IfMatch::Versions(vec![])
        );
        for bad in ["42-1", "\"unterminated", "", " , "] {
            let problem = IfMatch::parse(bad, 42).unwrap_err();
            assert_eq!(problem.status, http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let ours = HeaderValue::from_static("\"42-a\"");
        let hit = |value: &'static str| none_match_hits(&HeaderValue::from_static(value), &ours);
        assert!(hit("\"42-a\""));
        assert!(hit("W/\"42-a\""));
        assert!(hit("\"x\", \"42-a\""));
        assert!(hit("*"));
        assert!(!hit("\"42-b\""));
        assert!(!hit("42-a"));
    }

    #[test]
    fn a_document_tag_follows_its_bytes() {
        static A: Document = Document::new("text/plain", b"a");
        static A_AGAIN: Document = Document::new("text/plain", b"a");
        static B: Document = Document::new("text/plain", b"b");
        assert_eq!(A.tag(), A_AGAIN.tag());
        assert_ne!(A.tag(), B.tag());
        // FNV-1a of "a", the reference value.
        assert_eq!(A.tag(), "\"af63dc4c8601ec8c\"");
    }
}
