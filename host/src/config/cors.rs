//! `CORS_ALLOW_ORIGINS`: which origins may call the API from a browser, as
//! read from the environment. What the server does with it is
//! `server::cors`.

use http::HeaderValue;

/// Which origins may call the API from a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cors {
    /// `*`: any origin, without credentials.
    AnyOrigin,
    /// These origins, exactly as browsers send them, with credentials.
    Origins(Vec<String>),
}

impl Cors {
    /// `*`, or comma-separated origins such as `https://shop.example`.
    pub fn parse(value: &str) -> Result<Cors, String> {
        let origins: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        if origins == ["*"] {
            return Ok(Cors::AnyOrigin);
        }
        if origins.is_empty() {
            return Err("names no origin; leave it unset for no CORS".into());
        }
        for origin in &origins {
            let well_formed = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && HeaderValue::try_from(*origin).is_ok();
            if *origin == "*" || !well_formed {
                return Err(format!(
                    "`{origin}` is not an origin (scheme://host[:port], no path), and `*` stands alone"
                ));
            }
        }
        Ok(Cors::Origins(
            origins.into_iter().map(str::to_ascii_lowercase).collect(),
        ))
    }
}
