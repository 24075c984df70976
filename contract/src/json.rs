//! JSON written by hand, for the resources every read and write answers
//! with: the same bytes serde's derive writes (each model's test compares
//! them), for a fraction of the work. A page of 50 products spent two
//! fifths of the runtime's CPU in serde_json, most of it escaping the
//! keys, which are constants, and scanning short strings one byte at a
//! time; one order, a sixth of its request's instructions.

use rust_decimal::Decimal;

/// A value that writes itself as JSON.
pub trait WriteJson {
    /// About how many bytes it writes, to size the buffer once.
    const SIZE_HINT: usize = 128;

    fn write_json(&self, out: &mut Vec<u8>);
}

/// Rows as a JSON array.
impl<T: WriteJson> WriteJson for [T] {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (at, row) in self.iter().enumerate() {
            if at > 0 {
                out.push(b',');
            }
            row.write_json(out);
        }
        out.push(b']');
    }
}

/// `value`'s JSON, in a buffer sized for it.
pub fn to_vec<T: WriteJson + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(T::SIZE_HINT);
    value.write_json(&mut out);
    out
}

/// `rows` as a JSON array, in a buffer sized for them.
pub fn array<T: WriteJson>(rows: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + rows.len() * (T::SIZE_HINT + 1));
    rows.write_json(&mut out);
    out
}

/// A JSON string. Text with nothing to escape (nearly all) is copied
/// whole; other text goes through serde_json, so escapes are its own.
pub fn string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, text).is_err() {
        // Writing to a Vec cannot fail; should it, the value stays valid.
        out.extend_from_slice(b"null");
    }
}

/// A string or `null`.
pub fn optional_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn integer(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// An amount, as [`crate::money::serialize`] writes it (a JSON number).
pub fn money(out: &mut Vec<u8>, amount: &Decimal) {
    let mut serializer = serde_json::Serializer::new(&mut *out);
    if crate::money::serialize(amount, &mut serializer).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// A timestamp, as [`crate::model::timestamp`] writes it.
pub fn timestamp(out: &mut Vec<u8>, at: &chrono::DateTime<chrono::Utc>) {
    match crate::model::timestamp_text(at) {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(&text);
            out.push(b'"');
        }
        None => {
            let mut serializer = serde_json::Serializer::new(&mut *out);
            if crate::model::timestamp(at, &mut serializer).is_err() {
                out.extend_from_slice(b"null");
            }
        }
    }
}
