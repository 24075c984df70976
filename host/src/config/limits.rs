//! Function limits: what `FUNCTION_LIMITS` overrides, and the limits in
//! force once defaults and overrides are applied.

use std::collections::HashMap;
use std::time::Duration;

use contract::Limits;

use super::rate::Rate;

/// Limits after defaults and overrides are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedLimits {
    pub timeout: Duration,
    pub concurrency: u32,
    pub db_connections: u32,
}

/// A function's rate limit as `FUNCTION_LIMITS` sets it: its own, or none.
pub type RateOverride = Option<Rate>;

/// Per function name: the limits set, and the rate limits set.
pub(super) type FunctionLimits = (HashMap<String, Limits>, HashMap<String, RateOverride>);

/// `orders-create=timeout_ms:5000,concurrency:64,rate:10/s;users-get=timeout_ms:500`
/// (`rate:off` exempts a function from `RATE_LIMIT`).
pub(super) fn parse_function_limits(value: &str) -> Result<FunctionLimits, String> {
    let mut limits = HashMap::new();
    let mut rates = HashMap::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, settings) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` should be name=key:value,…"))?;
        let name = name.trim().to_owned();
        let mut parsed = Limits::default();
        for setting in settings.split(',').map(str::trim) {
            let (key, value) = setting
                .split_once(':')
                .ok_or_else(|| format!("`{setting}` should be key:value"))?;
            if key == "rate" {
                let rate = match value.trim() {
                    "off" => None,
                    rate => Some(rate.parse::<Rate>()?),
                };
                rates.insert(name.clone(), rate);
                continue;
            }
            let number: u32 = value
                .parse()
                .map_err(|_| format!("`{value}` in `{setting}` is not a positive integer"))?;
            if number == 0 {
                return Err(format!("`{setting}` must be above zero"));
            }
            match key {
                "timeout_ms" => parsed.timeout = Some(Duration::from_millis(number.into())),
                "concurrency" => parsed.concurrency = Some(number),
                "db_connections" => parsed.db_connections = Some(number),
                other => {
                    return Err(format!(
                        "unknown limit `{other}` (timeout_ms, concurrency, db_connections, rate)"
                    ))
                }
            }
        }
        limits.insert(name, parsed);
    }
    Ok((limits, rates))
}
