//! How every model writes its timestamps: RFC 3339 in UTC with
//! microseconds, by hand, for serde and for [`crate::json`] alike.

use chrono::{DateTime, Utc};

/// RFC 3339 in UTC with microseconds (PostgreSQL's precision), e.g.
/// `2026-01-01T00:00:00.123456Z`, written without the formatting machinery
/// chrono's own `Serialize` goes through.
pub fn timestamp<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match timestamp_text(at) {
        // Only ASCII digits and punctuation were written.
        Some(text) => serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
        None => serializer.collect_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    }
}

/// [`timestamp`]'s text, for a year from 0 to 9999 (chrono's for others).
pub(crate) fn timestamp_text(at: &DateTime<Utc>) -> Option<[u8; 27]> {
    use chrono::{Datelike, Timelike};
    // Read the fields of the naive UTC time: each accessor of a
    // `DateTime<Utc>` applies the (zero) offset again. (chrono keeps the
    // date as year and day of year, so these are cheaper than working the
    // date out from the seconds since the epoch.)
    let utc = at.naive_utc();
    let year = u32::try_from(utc.year())
        .ok()
        .filter(|year| *year <= 9999)?;
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    // Two digits at a time: half the divisions of one at a time.
    let mut pair = |at: usize, value: u32| {
        text[at] = b'0' + (value / 10) as u8;
        text[at + 1] = b'0' + (value % 10) as u8;
    };
    pair(0, year / 100);
    pair(2, year % 100);
    pair(5, utc.month());
    pair(8, utc.day());
    pair(11, utc.hour());
    pair(14, utc.minute());
    // A leap second is carried in the nanoseconds beyond 10^9.
    let nanos = utc.nanosecond();
    pair(17, utc.second() + nanos / 1_000_000_000);
    let micros = (nanos % 1_000_000_000) / 1_000;
    pair(20, micros / 10_000);
    pair(22, micros / 100 % 100);
    pair(24, micros % 100);
    Some(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_text_is_chronos_own() {
        use chrono::TimeZone;
        let mut at = chrono::Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap();
        let end = chrono::Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .unwrap();
        // Some 1,800 instants over every year, each at a different time of day.
        let step = chrono::Duration::seconds(175_316_789) + chrono::Duration::microseconds(1_234);
        while at <= end {
            let ours = super::timestamp_text(&at).unwrap();
            let chronos = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            assert_eq!(std::str::from_utf8(&ours).unwrap(), chronos);
            at += step;
        }
        assert!(super::timestamp_text(&(end + chrono::Duration::seconds(1))).is_none());
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        use chrono::TimeZone;
        #[derive(serde::Serialize)]
        struct At(#[serde(serialize_with = "super::timestamp")] chrono::DateTime<chrono::Utc>);
        let at = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(67);
        assert_eq!(
            serde_json::to_string(&At(at)).unwrap(),
            "\"2026-01-02T03:04:05.000067Z\""
        );
        let parsed: chrono::DateTime<chrono::Utc> = "2026-11-26T01:31:27.760594Z".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&At(parsed)).unwrap(),
            "\"2026-11-26T01:31:27.760594Z\""
        );
        let round = chrono::DateTime::parse_from_rfc3339("2026-12-31T23:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            serde_json::to_string(&At(round)).unwrap(),
            "\"2026-12-31T23:59:59.000000Z\""
        );
    }
}
