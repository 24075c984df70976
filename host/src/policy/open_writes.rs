//! The warning a server gives at start when anyone who reaches it may
//! write: no `API_KEYS`, and not the local default (the embedded
//! PostgreSQL, or a loopback address no one else reaches). Said once per
//! process, loudly, since an open shop on a public address is a mistake
//! more often than a choice.

use std::net::IpAddr;

use crate::config::Settings;

/// The warning's text when `settings` leave writes open to others.
pub fn warning(settings: &Settings) -> Option<&'static str> {
    let loopback = settings.host == "localhost"
        || settings
            .host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let local = settings.database_url.is_none() || loopback;
    (settings.api_keys.is_empty() && !local).then_some(
        "WRITES ARE OPEN: no API_KEYS are set, so anyone who reaches this server can create, \
         change and delete users, products and orders. Set API_KEYS (or API_KEYS_FILE) before \
         this address is reachable by others",
    )
}

/// Logs [`warning`] at WARN when it applies.
pub fn warn_if_open(settings: &Settings) {
    if let Some(text) = warning(settings) {
        tracing::warn!(host = %settings.host, "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::warning;
    use crate::config::{Secret, Settings};

    fn with(host: &str, url: bool, keys: bool) -> Settings {
        Settings {
            host: host.into(),
            database_url: url.then(|| Secret::new("postgres://db/shop".into())),
            api_keys: if keys {
                vec![Secret::new("k".into())]
            } else {
                Vec::new()
            },
            ..Settings::default()
        }
    }

    #[test]
    fn open_only_when_reachable_without_keys() {
        assert!(warning(&with("0.0.0.0", true, false)).is_some());
        assert!(warning(&with("::", true, false)).is_some());
        assert!(warning(&with("0.0.0.0", true, true)).is_none());
        // The no-configuration start, and a server on loopback only.
        assert!(warning(&with("0.0.0.0", false, false)).is_none());
        assert!(warning(&with("127.0.0.1", true, false)).is_none());
        assert!(warning(&with("::1", true, false)).is_none());
    }
}
