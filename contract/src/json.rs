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

/// An amount, as [`crate::money::serialize`] writes it (a JSON number):
/// the shortest decimal that reads back as the same double. For at most
/// 15 significant digits that is the amount's own digits, its fraction
/// cut after the last digit that is not zero but never left empty
/// (`10.0`, `0.1`, `999.99`), and for at most four decimals it is in plain
/// notation; those amounts are written straight from the digits, others
/// go through the double.
pub fn money(out: &mut Vec<u8>, amount: &Decimal) {
    const FIFTEEN_DIGITS: u128 = 1_000_000_000_000_000;
    let magnitude = amount.mantissa().unsigned_abs();
    let scale = amount.scale();
    if scale > 4 || magnitude >= FIFTEEN_DIGITS {
        let mut serializer = serde_json::Serializer::new(&mut *out);
        if crate::money::serialize(amount, &mut serializer).is_err() {
            out.extend_from_slice(b"null");
        }
        return;
    }
    // Below 10^15, so a u64 holds it.
    let magnitude = magnitude as u64;
    let unit = 10u64.pow(scale);
    if amount.mantissa() < 0 {
        out.push(b'-');
    }
    integer(out, magnitude / unit);
    out.push(b'.');
    let mut fraction = magnitude % unit;
    let mut width = scale as usize;
    while width > 0 && fraction % 10 == 0 {
        fraction /= 10;
        width -= 1;
    }
    if width == 0 {
        out.push(b'0');
        return;
    }
    let mut digits = [b'0'; 4];
    for digit in digits[..width].iter_mut().rev() {
        *digit = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    out.extend_from_slice(&digits[..width]);
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

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    /// What the serde path writes: the amount as the nearest double.
    fn through_the_double(amount: &Decimal) -> String {
        let mut out = Vec::new();
        crate::money::serialize(amount, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn amounts_are_written_as_the_double_writes_them() {
        let mut mantissas: Vec<i64> = vec![
            0,
            1,
            5,
            9,
            10,
            99,
            100,
            101,
            12_345,
            999_999_999_999_999,
            1_000_000_000_000_000,
            1_410_065_407 * 7,
        ];
        // And a spread of others, from a fixed-seed generator.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            mantissas.push((seed >> (seed % 50 + 14)) as i64);
        }
        // Negative zero as well, which the double writes without its sign.
        let negative_zero = Decimal::from_parts(0, 0, 0, true, 2);
        let mut out = Vec::new();
        super::money(&mut out, &negative_zero);
        assert_eq!(out, through_the_double(&negative_zero).as_bytes());
        assert_eq!(out, b"0.0");
        for mantissa in mantissas {
            for sign in [1, -1] {
                for scale in 0..=6 {
                    let amount = Decimal::new(sign * mantissa, scale);
                    let mut out = Vec::new();
                    super::money(&mut out, &amount);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        through_the_double(&amount),
                        "{amount}"
                    );
                }
            }
        }
    }
}
