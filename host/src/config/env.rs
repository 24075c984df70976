//! Reading the environment: each variable as the type it must be, a
//! `*_FILE` variant for secrets, and an error that names the variable.

use std::time::Duration;

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

/// A secret setting: shown as `***` by `Debug`, so it cannot reach a log
/// line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

pub(super) struct Env<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    pub(super) fn string(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// `NAME`, or the contents of the file `NAME_FILE` names (Docker secrets).
    pub(super) fn secret(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        let file_variable = format!("{name}_FILE");
        let direct = self.string(name);
        let file = self.string(&file_variable);
        if let (Some(_), Some(path)) = (&direct, &file) {
            // Which one wins would be a guess; the operator says.
            return Err(ConfigError {
                variable: name,
                value: format!("(set, and {file_variable}={path})"),
                reason: format!("set {name} or {file_variable}, not both"),
            });
        }
        if let Some(value) = direct {
            return Ok(Some(value));
        }
        let Some(path) = file else {
            return Ok(None);
        };
        std::fs::read_to_string(&path)
            .map(|contents| Some(contents.trim().to_owned()))
            .map_err(|error| ConfigError {
                variable: match name {
                    "DATABASE_URL" => "DATABASE_URL_FILE",
                    "DATABASE_SCHEMA_URL" => "DATABASE_SCHEMA_URL_FILE",
                    "DATABASE_READ_URL" => "DATABASE_READ_URL_FILE",
                    "API_KEYS" => "API_KEYS_FILE",
                    other => other,
                },
                value: path,
                reason: format!("the file cannot be read: {error}"),
            })
    }

    pub(super) fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.string(name) {
            None => Ok(None),
            Some(value) => value
                .trim()
                .parse()
                .map(Some)
                .map_err(|error: T::Err| ConfigError {
                    variable: name,
                    value,
                    reason: error.to_string(),
                }),
        }
    }

    pub(super) fn parse_range<T>(
        &self,
        name: &'static str,
        min: T,
        max: T,
    ) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        match self.parse::<T>(name)? {
            Some(value) if value < min || value > max => Err(ConfigError {
                variable: name,
                value: value.to_string(),
                reason: format!("must be from {min} to {max}"),
            }),
            other => Ok(other),
        }
    }

    pub(super) fn millis(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        Ok(self
            .parse_range::<u64>(name, 1, 24 * 3600 * 1000)?
            .map(Duration::from_millis))
    }
}
