//! Settings read from the environment (or a map, in tests): each variable
//! parsed, a bad value an error that names it.

use super::*;

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let env = Env { lookup: &lookup };
        let defaults = Settings::default();
        let function_limits = match env.string("FUNCTION_LIMITS") {
            Some(value) => parse_function_limits(&value).map_err(|reason| ConfigError {
                variable: "FUNCTION_LIMITS",
                value,
                reason,
            })?,
            None => Default::default(),
        };
        let settings = Settings {
            database_url: env.secret("DATABASE_URL")?.map(Secret::new),
            database_schema_url: env.secret("DATABASE_SCHEMA_URL")?.map(Secret::new),
            db_statements: env
                .parse("DB_STATEMENTS")?
                .unwrap_or(defaults.db_statements),
            // Several replicas: comma- or line-separated (a file may hold one a line).
            database_read_urls: env
                .secret("DATABASE_READ_URL")?
                .map(|urls| {
                    urls.split([',', '\n'])
                        .map(str::trim)
                        .filter(|url| !url.is_empty())
                        .map(|url| Secret::new(url.to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            database_read_max_lag: env
                .millis("DATABASE_READ_MAX_LAG_MS")?
                .unwrap_or(defaults.database_read_max_lag),
            host: env.string("HOST").unwrap_or(defaults.host),
            port: env.parse("PORT")?.unwrap_or(defaults.port),
            metrics_addr: env.parse("METRICS_ADDR")?,
            pool_size: env
                .parse_range("POOL_SIZE", 2, 10_000)?
                .unwrap_or(defaults.pool_size),
            shared_connections: env
                .parse_range("DB_SHARED_CONNECTIONS", 1, 1_000)?
                .unwrap_or(defaults.shared_connections),
            pool_timeout: env
                .millis("POOL_TIMEOUT_MS")?
                .unwrap_or(defaults.pool_timeout),
            body_limit: env
                .parse_range("BODY_LIMIT_BYTES", 1, 1 << 30)?
                .unwrap_or(defaults.body_limit),
            request_timeout: env
                .millis("REQUEST_TIMEOUT_MS")?
                .unwrap_or(defaults.request_timeout),
            concurrency: env
                .parse_range("FUNCTION_CONCURRENCY", 1, 1_000_000)?
                .unwrap_or(defaults.concurrency),
            queue_timeout: env
                .millis("QUEUE_TIMEOUT_MS")?
                .unwrap_or(defaults.queue_timeout),
            db_connections: env
                .parse_range("FUNCTION_DB_CONNECTIONS", 1, 10_000)?
                .unwrap_or(defaults.db_connections),
            function_limits: function_limits.0,
            function_rates: function_limits.1,
            rate_limit: env.parse("RATE_LIMIT")?,
            trusted_proxies: match env.string("TRUSTED_PROXIES") {
                Some(value) => TrustedProxies::parse(&value).map_err(|reason| ConfigError {
                    variable: "TRUSTED_PROXIES",
                    value,
                    reason,
                })?,
                None => TrustedProxies::default(),
            },
            rate_limit_ipv6_prefix: env
                .parse_range("RATE_LIMIT_IPV6_PREFIX", 1, 128)?
                .map_or(defaults.rate_limit_ipv6_prefix, |bits: u32| bits as u8),
            functions: match env.string("FUNCTIONS") {
                Some(value) => {
                    let globs: Vec<String> = value
                        .split([',', ' '])
                        .filter(|glob| !glob.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if globs.is_empty() {
                        return Err(ConfigError {
                            variable: "FUNCTIONS",
                            value,
                            reason: "names no function; leave it unset to serve all".into(),
                        });
                    }
                    globs
                }
                None => defaults.functions,
            },
            max_connections: env
                .parse_range("MAX_CONNECTIONS", 1, 1_000_000)?
                .unwrap_or(defaults.max_connections),
            header_read_timeout: env
                .millis("HEADER_READ_TIMEOUT_MS")?
                .unwrap_or(defaults.header_read_timeout),
            body_read_timeout: env
                .millis("BODY_READ_TIMEOUT_MS")?
                .unwrap_or(defaults.body_read_timeout),
            shutdown_grace: env
                .millis("SHUTDOWN_GRACE_MS")?
                .unwrap_or(defaults.shutdown_grace),
            log_level: env.string("LOG_LEVEL").unwrap_or(defaults.log_level),
            log_format: match env.string("LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "LOG_FORMAT",
                        value: other.into(),
                        reason: "must be `text` or `json`".into(),
                    })
                }
            },
            embedded_pg_dir: env
                .string("EMBEDDED_PG_DIR")
                .map(PathBuf::from)
                .unwrap_or(defaults.embedded_pg_dir),
            workers: match env.string("WORKERS").as_deref().map(str::trim) {
                None | Some("auto") => defaults.workers,
                Some(_) => env
                    .parse_range("WORKERS", 0, 1024)?
                    .unwrap_or(defaults.workers),
            },
            reuse_port: false,
            database_ca_file: env.string("DATABASE_CA_FILE").map(PathBuf::from),
            api_keys: env
                .secret("API_KEYS")?
                .map(|keys| {
                    keys.split([',', '\n'])
                        .map(str::trim)
                        .filter(|key| !key.is_empty() && !key.starts_with('#'))
                        .map(|key| Secret::new(key.to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            api_keys_read: env
                .parse("API_KEYS_READ")?
                .unwrap_or(defaults.api_keys_read),
            api_keys_exempt: env
                .string("API_KEYS_EXEMPT")
                .map(|value| {
                    value
                        .split([',', ' '])
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or(defaults.api_keys_exempt),
            cors: match env.string("CORS_ALLOW_ORIGINS") {
                Some(value) => Some(Cors::parse(&value).map_err(|reason| ConfigError {
                    variable: "CORS_ALLOW_ORIGINS",
                    value,
                    reason,
                })?),
                None => None,
            },
            traces: otel::read(&env)?,
            migrations: migrations::read(&env)?,
        };
        if settings.api_keys_read && settings.api_keys.is_empty() {
            return Err(ConfigError {
                variable: "API_KEYS_READ",
                value: "true".into(),
                reason: "set API_KEYS (or API_KEYS_FILE) too, or no one can read".into(),
            });
        }
        if settings.shared_connections >= settings.pool_size {
            return Err(ConfigError {
                variable: "DB_SHARED_CONNECTIONS",
                value: settings.shared_connections.to_string(),
                reason: format!(
                    "must be below POOL_SIZE ({}) so that transactions have connections",
                    settings.pool_size
                ),
            });
        }
        Ok(settings)
    }
}
