//! Entity tags (RFC 9110 §8.8.3) and the conditions built on them.
//!
//! A single resource's tag is what its row is: its id and the instant it
//! last changed, `"<id>-<updated_at in µs, hex>"`. `updated_at` moves
//! forward on every update of the row (`sql/07`), so two versions never
//! share a tag, and a handler can check `If-Match` in the same statement
//! that writes, by comparing `updated_at`, never check-then-write.
//!
//! `If-None-Match` on a GET is the runtime's business (it turns a matching
//! 200 into 304); `If-Match`, and `If-None-Match` on a write, are each
//! writing function's, through [`crate::Request::condition`].

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

/// What `If-Match` and `If-None-Match` ask of a write to the row with a
/// given id (RFC 9110 §13.1.1, §13.1.2). Checked in the statement that
/// writes: `AND ($n::timestamptz[] IS NULL OR updated_at = ANY($n))` for
/// [`Condition::versions`] and `AND updated_at <> ALL($m)` for
/// [`Condition::refused`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Condition {
    /// The versions (`updated_at`) `If-Match` accepts; `None` for any
    /// (`*`, or no `If-Match`), empty when none of its tags can be this
    /// row's, which no version matches.
    accept: Option<Vec<DateTime<Utc>>>,
    /// The versions `If-None-Match` refuses: the client means to change
    /// the row only if it is not in one of these.
    refuse: Vec<DateTime<Utc>>,
}

impl Condition {
    /// The condition of `If-Match` (`if_match`) and `If-None-Match`
    /// (`if_none_match`) on the row `id`: `*`, or lists of tags. For
    /// `If-Match`, weak tags never match (strong comparison); a value that
    /// is not a list of tags at all is 400. `If-None-Match: *` refuses
    /// every version that exists: a write to an existing row is 412.
    pub fn parse(
        if_match: Option<&str>,
        if_none_match: Option<&str>,
        id: i64,
    ) -> Result<Condition, Problem> {
        let mut condition = Condition::default();
        if let Some(value) = if_match.filter(|value| value.trim() != "*") {
            let mut versions = Vec::new();
            for tag in tags(value)? {
                if let Tag::Strong(opaque) = tag {
                    versions.extend(row_version(opaque, id));
                }
            }
            condition.accept = Some(versions);
        }
        if let Some(value) = if_none_match {
            if value.trim() == "*" {
                condition.accept = Some(Vec::new());
            } else {
                for tag in tags(value)? {
                    let (Tag::Strong(opaque) | Tag::Weak(opaque)) = tag;
                    condition.refuse.extend(row_version(opaque, id));
                }
            }
        }
        Ok(condition)
    }

    /// The versions for a statement's `updated_at = ANY($n)`; `None` for any.
    pub fn versions(&self) -> Option<&[DateTime<Utc>]> {
        self.accept.as_deref()
    }

    /// The versions for a statement's `updated_at <> ALL($m)`.
    pub fn refused(&self) -> &[DateTime<Utc>] {
        &self.refuse
    }

    /// Whether the row's current version is one the client accepts.
    pub fn matches(&self, updated_at: DateTime<Utc>) -> bool {
        self.accept
            .as_ref()
            .is_none_or(|versions| versions.contains(&updated_at))
            && !self.refuse.contains(&updated_at)
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

/// Why a write with a [`Condition`] in its statement touched no row: 412 with the current tag when the row is there in
/// another version, else 404. Asked after the write, never before it.
pub async fn unwritten(
    conn: &PgConn,
    version_sql: &'static str,
    kind: &str,
    id: i64,
    condition: Option<&Condition>,
) -> Problem {
    if condition.is_some() {
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

/// Whether `If-None-Match` (weak comparison, §13.1.2) matches `etag`, the
/// tag of the representation the answer would carry (its encoding's): the
/// client holds these very bytes, and a GET may answer 304.
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

/// The tags of a compressed body: the tag of the same content unencoded,
/// plus a suffix naming the encoding, so that each encoding's bytes have a
/// strong tag of their own (RFC 9110 §8.8.3) while a condition on the
/// resource reads the version from either.
const ENCODING_SUFFIXES: [&str; 2] = ["-br", "-gzip"];

/// `tag` (a strong `"…"`) for the body encoded with `token` (`br`, `gzip`).
pub fn encoded(tag: &HeaderValue, token: &str) -> Option<HeaderValue> {
    let opaque = tag.to_str().ok()?.strip_prefix('"')?.strip_suffix('"')?;
    HeaderValue::try_from(format!("\"{opaque}-{token}\"")).ok()
}

/// The opaque part of a tag without an encoding's suffix.
fn unencoded(opaque: &str) -> &str {
    ENCODING_SUFFIXES
        .iter()
        .find_map(|suffix| opaque.strip_suffix(suffix))
        .unwrap_or(opaque)
}

/// The earliest instant PostgreSQL's `timestamptz` holds (4713 BC), in µs
/// since 1970: a tag naming an earlier one names no row's version, and is
/// never handed to the database (which would refuse it). Its latest
/// (294276 AD) is past the latest chrono holds, so needs no check.
const PG_EARLIEST_MICROS: i64 = -210_866_803_200_000_000;

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
    let (tag_id, micros) = unencoded(opaque).split_once('-')?;
    if tag_id.parse::<i64>().ok()? != id || micros.is_empty() || micros.len() > 16 {
        return None;
    }
    let micros = u64::from_str_radix(micros, 16).ok()? as i64;
    if micros < PG_EARLIEST_MICROS {
        return None;
    }
    DateTime::from_timestamp_micros(micros)
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
        let parsed = Condition::parse(tag.to_str().ok(), None, 42).unwrap();
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

    fn if_match(value: &str, id: i64) -> Result<Condition, Problem> {
        Condition::parse(Some(value), None, id)
    }

    #[test]
    fn if_match_takes_lists_and_star_and_never_a_weak_or_foreign_tag() {
        assert_eq!(if_match("*", 1).unwrap(), Condition::default());
        let list = if_match("\"7-1\", \"1-a\" , W/\"1-b\"", 1).unwrap();
        assert_eq!(list.versions(), Some(&[at(0xa)][..]));
        assert_eq!(
            if_match("\"nonsense\"", 1).unwrap().versions(),
            Some(&[][..])
        );
        for bad in ["42-1", "\"unterminated", "", " , "] {
            let problem = if_match(bad, 42).unwrap_err();
            assert_eq!(problem.status, http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn a_tag_outside_what_postgresql_holds_names_no_version() {
        // Far before 4713 BC, and after 294276 AD: no row has that version,
        // and the database is never asked about it.
        for tag in ["\"1-c000000000000000\"", "\"1-7fffffffffffffff\""] {
            assert_eq!(if_match(tag, 1).unwrap().versions(), Some(&[][..]), "{tag}");
        }
        assert_eq!(
            if_match("\"1-0\"", 1).unwrap().versions(),
            Some(&[at(0)][..])
        );
    }

    #[test]
    fn if_none_match_on_a_write_refuses_its_versions() {
        let star = Condition::parse(None, Some("*"), 1).unwrap();
        assert!(!star.matches(at(0xa)));
        let listed = Condition::parse(None, Some("\"1-a\", W/\"1-b\""), 1).unwrap();
        assert_eq!(listed.refused(), &[at(0xa), at(0xb)]);
        assert!(!listed.matches(at(0xa)) && !listed.matches(at(0xb)));
        assert!(listed.matches(at(0xc)));
        assert_eq!(listed.versions(), None);
    }

    #[test]
    fn an_encoded_tag_names_the_same_version() {
        let tag = for_row(1, at(0xa));
        let br = encoded(&tag, "br").unwrap();
        assert_eq!(br, "\"1-a-br\"");
        assert_ne!(br, tag);
        assert!(if_match(br.to_str().unwrap(), 1).unwrap().matches(at(0xa)));
        // A cache holds one encoding's bytes: only that tag is a hit.
        assert!(none_match_hits(&br, &br));
        assert!(!none_match_hits(&br, &tag));
        assert!(!none_match_hits(&tag, &br));
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
