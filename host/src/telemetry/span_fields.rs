//! The small values a span is made of: attributes, times and the name of
//! a statement's operation, as OTLP writes them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};

/// What a statement does, for its span's name: its first keyword, or for
/// a `WITH` the statement its common table expressions lead to (`WITH …
/// INSERT` is an `INSERT`), the first of SELECT, INSERT, UPDATE, DELETE
/// and MERGE outside parentheses.
pub(crate) fn operation(sql: &str) -> String {
    let first = sql.split_whitespace().next().unwrap_or("SQL");
    if !first.eq_ignore_ascii_case("WITH") {
        return first.to_ascii_uppercase();
    }
    let mut depth = 0u32;
    let mut word = String::new();
    for c in sql.chars().chain(std::iter::once(' ')) {
        if (c.is_ascii_alphanumeric() || c == '_') && depth == 0 {
            word.push(c.to_ascii_uppercase());
            continue;
        }
        if matches!(
            word.as_str(),
            "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE"
        ) {
            return word;
        }
        word.clear();
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    "WITH".to_owned()
}

pub(crate) fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos() as u64
}

pub(crate) fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

pub(crate) fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}
