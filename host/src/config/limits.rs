//! Function limits: what `FUNCTION_LIMITS` overrides, and the limits in
//! force once defaults and overrides are applied.

use std::collections::HashMap;
use std::time::Duration;

use contract::Limits;

/// Limits after defaults and overrides are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedLimits {
    pub timeout: Duration,
    pub concurrency: u32,
    pub db_connections: u32,
}

/// `orders-create=timeout_ms:5000,concurrency:64;users-get=timeout_ms:500`
pub(super) fn parse_function_limits(value: &str) -> Result<HashMap<String, Limits>, String> {
    let mut limits = HashMap::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, settings) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` should be name=key:value,…"))?;
        let mut parsed = Limits::default();
        for setting in settings.split(',').map(str::trim) {
            let (key, number) = setting
                .split_once(':')
                .ok_or_else(|| format!("`{setting}` should be key:value"))?;
            let number: u32 = number
                .parse()
                .map_err(|_| format!("`{number}` in `{setting}` is not a positive integer"))?;
            if number == 0 {
                return Err(format!("`{setting}` must be above zero"));
            }
            match key {
                "timeout_ms" => parsed.timeout = Some(Duration::from_millis(number.into())),
                "concurrency" => parsed.concurrency = Some(number),
                "db_connections" => parsed.db_connections = Some(number),
                other => {
                    return Err(format!(
                        "unknown limit `{other}` (timeout_ms, concurrency, db_connections)"
                    ))
                }
            }
        }
        limits.insert(name.trim().to_owned(), parsed);
    }
    Ok(limits)
}
