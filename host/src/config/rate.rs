//! `RATE_LIMIT` and `rate:` in `FUNCTION_LIMITS`: a rate as read from the
//! environment. The limiters that count calls are `policy::rate_limit`.

use std::time::Duration;

/// `100/s`: so many calls per window, in a burst at most that many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub quota: u32,
    pub window: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(value: &str) -> Result<Rate, String> {
        let (count, unit) = value
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{value}` should be count/unit, e.g. 100/s or 6000/m"))?;
        let quota: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|quota| *quota > 0)
            .ok_or_else(|| format!("`{count}` in `{value}` is not a positive integer"))?;
        let window = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => return Err(format!("`{other}` in `{value}` is not s, m or h")),
        };
        Ok(Rate { quota, window })
    }
}
