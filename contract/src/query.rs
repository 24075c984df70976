//! Query strings: every parameter at most once, and an error that names
//! the parameter it is about.

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use crate::{FieldError, Problem};

/// At most this many parameters: no endpoint reads more than a handful, and
/// each costs a hash and a copy.
pub const MAX_PARAMETERS: usize = 64;

/// 400 naming the first parameter given more than once (which of two values
/// a client meant is a guess this API does not make), or when there are more
/// than [`MAX_PARAMETERS`]. One pass over a hash set: the cost grows with
/// the query's length, never with its square.
pub fn reject_repeated(query: &str) -> Result<(), Problem> {
    let mut seen = HashSet::new();
    for (key, _) in form_urlencoded::parse(query.as_bytes()) {
        if seen.len() == MAX_PARAMETERS {
            return Err(Problem::bad_request(format!(
                "the query string has more than {MAX_PARAMETERS} parameters"
            )));
        }
        if seen.contains(&key) {
            return Err(invalid(&key, "is given more than once"));
        }
        seen.insert(key);
    }
    Ok(())
}

/// The query string as `T`: 400 naming the parameter that is malformed or
/// repeated. Unknown parameters are ignored, as a browser or proxy may add
/// some.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    reject_repeated(query)?;
    let pairs = form_urlencoded::parse(query.as_bytes());
    let deserializer = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let name = error.path().to_string();
        invalid(&name, &error.into_inner().to_string())
    })
}

/// 400 about the query parameter `name`.
pub fn invalid(name: &str, message: &str) -> Problem {
    Problem {
        errors: vec![FieldError::new(name.to_owned(), message.to_owned())],
        ..Problem::bad_request(format!("query parameter `{name}` {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Filters {
        user_id: Option<i64>,
        in_stock: Option<bool>,
    }

    fn refused(query: &str) -> String {
        let problem = parse::<Filters>(query).unwrap_err();
        assert_eq!(problem.status.as_u16(), 400, "{query}");
        problem.errors[0].field.to_string()
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(refused("user_id=abc"), "user_id");
        assert_eq!(refused("in_stock=yes"), "in_stock");
        assert_eq!(refused("user_id=1&user_id=2"), "user_id");
        assert_eq!(refused("limit=1&limit=1"), "limit");
        let ok = parse::<Filters>("user_id=3&in_stock=true&utm=x").unwrap();
        assert_eq!((ok.user_id, ok.in_stock), (Some(3), Some(true)));
    }

    #[test]
    fn too_many_parameters_are_refused_without_comparing_them_all() {
        let many: String = (0..MAX_PARAMETERS).map(|i| format!("k{i}&")).collect();
        assert!(reject_repeated(&many).is_ok());
        let problem = reject_repeated(&format!("{many}one_more")).unwrap_err();
        assert_eq!(problem.status.as_u16(), 400);
        assert!(
            problem.detail.contains("more than 64 parameters"),
            "{}",
            problem.detail
        );
        // 16,992 distinct empty keys (the attack): refused at the 65th.
        let attack: String = (0..16_992).map(|i| format!("{i}=&")).collect();
        assert!(reject_repeated(&attack).is_err());
    }
}
