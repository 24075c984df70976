//! Test helpers every model's tests share: the hand-written JSON of a
//! model must be the bytes serde's derive writes, for awkward values too.

/// Each value, and all of them as an array, written by hand and by
/// serde's derive: the same bytes.
pub(super) fn writes_what_the_derive_writes<T: crate::json::WriteJson + serde::Serialize>(
    values: &[T],
) {
    for one in values {
        assert_eq!(
            String::from_utf8(crate::json::to_vec(one)).unwrap(),
            serde_json::to_string(one).unwrap()
        );
    }
    assert_eq!(
        String::from_utf8(crate::json::array(values)).unwrap(),
        serde_json::to_string(values).unwrap()
    );
    assert_eq!(crate::json::array::<T>(&[]), b"[]");
}

/// An ordinary instant, and one past the year 9999 (chrono's own text).
pub(super) fn instants() -> [chrono::DateTime<chrono::Utc>; 2] {
    use chrono::TimeZone;
    [
        chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(67),
        chrono::Utc.with_ymd_and_hms(12_000, 1, 1, 0, 0, 0).unwrap(),
    ]
}

pub(super) const AWKWARD: &str = "quote \" back\\slash \u{1} tab\t é ☃";
