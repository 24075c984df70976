//! JSON request bodies: content-type check, parsing, and errors that say
//! which field is wrong and why.

use serde::de::DeserializeOwned;

use crate::{FieldError, Problem};

/// `application/json`, or any `application/…+json`, with optional parameters.
pub fn is_json_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parse `body`, a JSON object, as `T`; see [`crate::Request::json`].
pub fn parse_json<T: DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, Problem> {
    if body.is_empty() {
        return Err(Problem::bad_request("a JSON body is required"));
    }
    match content_type {
        Some(value) if is_json_content_type(value) => {}
        _ => {
            return Err(Problem::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON, sent with `Content-Type: application/json`",
            ))
        }
    }
    // Every body of this API is an object; serde would also read a struct
    // from an array, which no client means.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            return Err(json_problem(String::new(), syntax));
        }
        return Err(Problem::invalid_field("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // A shape error may be met before a syntax error further on; broken
        // JSON is 400 whatever it was meant to hold. (Error path only.)
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            return json_problem(String::new(), syntax);
        }
        json_problem(error.path().to_string(), error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|error| json_problem(String::new(), error))?;
    Ok(value)
}

fn json_problem(path: String, error: serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match error.classify() {
        Category::Data => {
            let message = error.to_string();
            // serde reports missing and unknown fields at the parent object;
            // name the field itself.
            let at_root = path.is_empty() || path == "." || path == "?";
            let field = match backticked_field(&message) {
                // Unknown fields are reported at themselves, missing ones at
                // their parent.
                Some(name) if path == name || path.ends_with(&format!(".{name}")) => path,
                Some(name) if at_root => name.to_owned(),
                Some(name) => format!("{path}.{name}"),
                None if at_root => "body".to_owned(),
                None => path,
            };
            let message = plain_types(&strip_position(&message));
            Problem::unprocessable(vec![FieldError::new(field, message)])
        }
        Category::Syntax | Category::Eof | Category::Io => {
            Problem::bad_request(format!("the body is not valid JSON: {error}"))
        }
    }
}

/// The field named in "missing field `x`" or "unknown field `x`, expected …".
fn backticked_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next()
}

/// serde names Rust types ("expected i32"); a client needs the range.
fn plain_types(message: &str) -> String {
    message
        .replace(
            "expected i32",
            "expected an integer from -2147483648 to 2147483647",
        )
        .replace("expected i64", "expected a positive integer")
}

/// serde_json appends " at line L column C" to data errors; the field name
/// says more to a client than a column does.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        product_id: i64,
        quantity: i32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        user_id: i64,
        items: Vec<Item>,
    }

    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    fn problem(content_type: Option<&str>, body: &str) -> Problem {
        parse_json::<Order>(content_type, body.as_bytes()).unwrap_err()
    }

    #[test]
    fn content_type_must_be_json() {
        assert_eq!(
            problem(None, "{}").status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            problem(Some("text/plain"), "{}").status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(is_json_content_type("Application/JSON"));
    }

    #[test]
    fn broken_json_is_400_and_empty_body_too() {
        assert_eq!(
            problem(JSON, "{\"user_id\": 1,").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(problem(JSON, "{} trailing").status, StatusCode::BAD_REQUEST);
        assert_eq!(problem(JSON, "").status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn shape_errors_are_422_and_name_the_field() {
        let p = problem(JSON, r#"{"items": []}"#);
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.errors[0].field, "user_id");

        let p = problem(JSON, r#"{"user_id": 1, "items": [], "coupon": "x"}"#);
        assert_eq!(p.errors[0].field, "coupon");

        let p = problem(
            JSON,
            r#"{"user_id": 1, "items": [{"product_id": 1, "quantity": "2"}]}"#,
        );
        assert_eq!(p.errors[0].field, "items[0].quantity");
        assert!(
            !p.errors[0].message.contains("line"),
            "{}",
            p.errors[0].message
        );

        let p = problem(
            JSON,
            r#"{"user_id": 1, "items": [{"product_id": 1, "quantity": 3000000000}]}"#,
        );
        assert!(
            p.errors[0].message.contains("2147483647"),
            "{}",
            p.errors[0].message
        );

        let p = problem(JSON, r#"{"user_id": 1, "items": [{"product_id": 1}]}"#);
        assert_eq!(p.errors[0].field, "items[0].quantity");

        let p = problem(JSON, "[1, 2]");
        assert_eq!(p.errors[0].field, "body");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        assert_eq!(problem(JSON, &deep).status.as_u16() / 100, 4);
    }
}
