//! Globs over function names (`FUNCTIONS`, `API_KEYS_EXEMPT`): `*`
//! matches any run of characters.

/// Whether `name` matches `glob`.
pub fn glob_match(glob: &str, name: &str) -> bool {
    match glob.split_once('*') {
        None => glob == name,
        Some((prefix, rest)) => {
            let Some(tail) = name.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*", "orders-create"));
        assert!(glob_match("orders-*", "orders-create"));
        assert!(glob_match("*-get", "users-get"));
        assert!(glob_match("users-get", "users-get"));
        assert!(!glob_match("orders-*", "users-get"));
        assert!(!glob_match("users", "users-get"));
        assert!(glob_match("u*s-*t", "users-get"));
    }
}
