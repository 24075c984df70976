//! Configuration: the environment, read once at start-up into typed
//! settings. A bad value is an error that names the variable.
//!
//! [`env`] reads variables, [`limits`] the per-function limits; this module
//! holds [`Settings`], what the runtime can be told.

mod env;
mod limits;
mod migrations;
mod otel;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use contract::Limits;

use crate::balance::Balancer;
use crate::cors::Cors;
use crate::rate_limit::{Limiters, Rate, TrustedProxies};
use crate::traces::TracerCell;

use env::Env;
pub use env::{ConfigError, Secret};
use limits::parse_function_limits;
pub use limits::{RateOverride, ResolvedLimits};
pub use migrations::{MigrateMode, Migrations};
pub use otel::{Sampler, TraceSettings};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How much of a body is read, and for how long (`BODY_LIMIT_BYTES`,
/// `BODY_READ_TIMEOUT_MS`): the part of the settings a request needs.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub read_timeout: Duration,
}

/// Everything the runtime can be told; see the README's configuration table.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `None`: start the embedded PostgreSQL.
    pub database_url: Option<Secret>,
    /// Where `sql/` is applied from, when `database_url` is a pooler.
    pub database_schema_url: Option<Secret>,
    /// How statements are sent: prepared, or unnamed for a pooler.
    pub db_statements: contract::db::Statements,
    /// Read replicas, in the order given.
    pub database_read_urls: Vec<Secret>,
    /// A replica further behind than this leaves the rotation.
    pub database_read_max_lag: Duration,
    pub host: String,
    pub port: u16,
    /// `/metrics` on its own listener instead of the main one.
    pub metrics_addr: Option<SocketAddr>,
    pub pool_size: u32,
    /// Connections held open for shared, pipelined statements.
    pub shared_connections: u32,
    pub pool_timeout: Duration,
    pub body_limit: usize,
    /// The default time limit of a function call.
    pub request_timeout: Duration,
    /// The default concurrency limit of a function.
    pub concurrency: u32,
    /// How long a request over the concurrency limit may queue.
    pub queue_timeout: Duration,
    /// The default share of exclusive connections a function may hold.
    pub db_connections: u32,
    /// Per-function overrides of the limits.
    pub function_limits: HashMap<String, Limits>,
    /// `rate:` in `FUNCTION_LIMITS`: a function's own rate limit, or none.
    pub function_rates: HashMap<String, RateOverride>,
    /// `RATE_LIMIT`: calls per client per window; `None`: no limit.
    pub rate_limit: Option<Rate>,
    /// `TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `RATE_LIMIT_IPV6_PREFIX`: an IPv6 client is counted by this many
    /// leading bits of its address (a host is handed a whole /64).
    pub rate_limit_ipv6_prefix: u8,
    /// The rate limiters' state, one per policy, shared by every worker
    /// made from these settings, so a limit holds for the whole process.
    pub limiters: Limiters,
    /// Globs selecting the functions to serve.
    pub functions: Vec<String>,
    pub max_connections: usize,
    /// Bounds the wait for a request's headers, and keep-alive idleness.
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub shutdown_grace: Duration,
    pub log_level: String,
    pub log_format: LogFormat,
    pub embedded_pg_dir: PathBuf,
    /// 0: one multi-threaded runtime. N: N single-threaded runtimes, each
    /// with its own pool share, on one `SO_REUSEPORT` port. Default: one
    /// per core.
    pub workers: usize,
    /// Set for each of several workers sharing the port.
    pub reuse_port: bool,
    /// The workers sharing the port, for evening out their connections;
    /// one for every worker made from these settings.
    pub balancer: Balancer,
    /// Extra CA certificates (PEM) trusted for TLS to PostgreSQL.
    pub database_ca_file: Option<PathBuf>,
    /// Keys that writes (and, with `api_keys_read`, reads) must present.
    pub api_keys: Vec<Secret>,
    pub api_keys_read: bool,
    /// Functions that need no key whatever the above (probes).
    pub api_keys_exempt: Vec<String>,
    /// `CORS_ALLOW_ORIGINS`; `None`: no CORS headers at all.
    pub cors: Option<Cors>,
    /// `OTEL_*`: where spans go; `None`: no exporter.
    pub traces: Option<TraceSettings>,
    /// The process's tracer (one exporter for every worker), made on first use.
    pub tracer: TracerCell,
    /// `MIGRATE`, `SAMPLE_DATA`: what a start does about `sql/`.
    pub migrations: Migrations,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: None,
            database_schema_url: None,
            db_statements: contract::db::Statements::Prepared,
            database_read_urls: Vec::new(),
            database_read_max_lag: Duration::from_secs(5),
            host: "0.0.0.0".into(),
            port: 5000,
            metrics_addr: None,
            pool_size: 20,
            // One pipelined connection per worker measured fastest for reads
            // (loadtest/README.md); more only spread the same work thinner.
            shared_connections: 2,
            pool_timeout: Duration::from_secs(2),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            concurrency: 512,
            queue_timeout: Duration::from_millis(500),
            db_connections: 8,
            function_limits: HashMap::new(),
            function_rates: HashMap::new(),
            rate_limit: None,
            trusted_proxies: TrustedProxies::default(),
            rate_limit_ipv6_prefix: 64,
            limiters: Limiters::default(),
            functions: vec!["*".into()],
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(8),
            log_level: "info".into(),
            log_format: LogFormat::Text,
            embedded_pg_dir: PathBuf::from(".data/postgres"),
            // One single-threaded runtime per core measured faster than one
            // multi-threaded runtime (loadtest/README.md).
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            reuse_port: false,
            balancer: Balancer::default(),
            database_ca_file: None,
            api_keys: Vec::new(),
            api_keys_read: false,
            api_keys_exempt: vec!["health".into(), "db-check".into()],
            cors: None,
            traces: None,
            tracer: TracerCell::default(),
            migrations: Migrations::default(),
        }
    }
}

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
            limiters: Limiters::default(),
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
            balancer: Balancer::default(),
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
            tracer: TracerCell::default(),
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

    /// The limits in force for a function: configuration, else what the
    /// function asks for, else the defaults.
    pub fn limits_for(&self, name: &str, asked: Limits) -> ResolvedLimits {
        let configured = self.function_limits.get(name).copied().unwrap_or_default();
        ResolvedLimits {
            timeout: configured
                .timeout
                .or(asked.timeout)
                .unwrap_or(self.request_timeout),
            concurrency: configured
                .concurrency
                .or(asked.concurrency)
                .unwrap_or(self.concurrency),
            db_connections: configured
                .db_connections
                .or(asked.db_connections)
                .unwrap_or(self.db_connections)
                .min(self.pool_size - self.shared_connections),
        }
    }

    /// The rate limit a function is under: its own policy (named after it)
    /// from `FUNCTION_LIMITS`, else `RATE_LIMIT`'s `default` policy.
    pub fn rate_policy_for(&self, name: &str) -> Option<(String, Rate)> {
        match self.function_rates.get(name) {
            Some(Some(rate)) => Some((name.to_owned(), *rate)),
            Some(None) => None,
            None => self.rate_limit.map(|rate| ("default".to_owned(), rate)),
        }
    }

    /// The settings of worker `index` of `workers`: the pool and the
    /// connection cap are divided among them, so that together they hold
    /// what `POOL_SIZE` and `MAX_CONNECTIONS` allow.
    pub fn for_worker(&self, workers: usize) -> Settings {
        let workers = workers.max(1) as u32;
        let mut worker = self.clone();
        worker.workers = 0;
        worker.reuse_port = workers > 1;
        worker.shared_connections = (self.shared_connections / workers).max(1);
        worker.max_connections = (self.max_connections / workers as usize).max(1);
        worker.pool_size = (self.pool_size / workers).max(worker.shared_connections + 1);
        worker
    }

    /// What a request body may be: the service reads bodies by these.
    pub fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: self.body_limit,
            read_timeout: self.body_read_timeout,
        }
    }

    /// The address of the main listener.
    pub fn listen_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.port, 5000);
        assert_eq!(s.host, "0.0.0.0");
        assert!(s.database_url.is_none());
        assert_eq!(s.body_limit, 65536);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = settings(&[("PORT", "fifty")]).unwrap_err();
        assert_eq!(error.variable, "PORT");
        assert!(error.to_string().contains("PORT=\"fifty\""), "{error}");
        assert_eq!(
            settings(&[("POOL_SIZE", "1")]).unwrap_err().variable,
            "POOL_SIZE"
        );
        assert_eq!(
            settings(&[("LOG_FORMAT", "xml")]).unwrap_err().variable,
            "LOG_FORMAT"
        );
        assert_eq!(
            settings(&[("POOL_SIZE", "4"), ("DB_SHARED_CONNECTIONS", "4")])
                .unwrap_err()
                .variable,
            "DB_SHARED_CONNECTIONS"
        );
    }

    #[test]
    fn the_conventions_are_read_from_their_variables() {
        let s = settings(&[
            ("CORS_ALLOW_ORIGINS", "https://shop.example"),
            ("RATE_LIMIT", "6000/m"),
            ("TRUSTED_PROXIES", "10.0.0.0/8"),
            (
                "FUNCTION_LIMITS",
                "orders-create=rate:10/s,timeout_ms:5000;health=rate:off",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ])
        .unwrap();
        assert!(s.cors.is_some());
        assert!(s.traces.is_some());
        let default = s.rate_policy_for("users-get").unwrap();
        assert_eq!((default.0.as_str(), default.1.quota), ("default", 6000));
        let own = s.rate_policy_for("orders-create").unwrap();
        assert_eq!((own.0.as_str(), own.1.quota), ("orders-create", 10));
        assert!(s.rate_policy_for("health").is_none());
        assert_eq!(
            s.limits_for("orders-create", Limits::DEFAULT).timeout,
            Duration::from_secs(5)
        );
        for (variable, value) in [
            ("CORS_ALLOW_ORIGINS", "shop.example"),
            ("RATE_LIMIT", "lots"),
            ("TRUSTED_PROXIES", "the proxy"),
            ("FUNCTION_LIMITS", "health=rate:9/fortnight"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector"),
        ] {
            let error = settings(&[(variable, value)]).unwrap_err();
            assert!(error.variable.starts_with(variable), "{variable}: {error}");
        }
    }

    #[test]
    fn api_keys_from_the_environment_or_a_file() {
        let s = settings(&[("API_KEYS", "one, two"), ("API_KEYS_READ", "true")]).unwrap();
        assert_eq!(s.api_keys.len(), 2);
        assert!(s.api_keys_read);
        assert!(!format!("{s:?}").contains("two"));
        assert_eq!(
            settings(&[("API_KEYS_READ", "true")]).unwrap_err().variable,
            "API_KEYS_READ"
        );
        assert_eq!(
            settings(&[("API_KEYS_READ", "yes")]).unwrap_err().variable,
            "API_KEYS_READ"
        );
        let error = settings(&[("API_KEYS_FILE", "/nonexistent/keys")]).unwrap_err();
        assert_eq!(error.variable, "API_KEYS_FILE");
    }

    #[test]
    fn workers_divide_the_pool() {
        let s = settings(&[
            ("WORKERS", "2"),
            ("POOL_SIZE", "20"),
            ("DB_SHARED_CONNECTIONS", "4"),
        ])
        .unwrap();
        assert_eq!(s.workers, 2);
        let worker = s.for_worker(2);
        assert_eq!(
            (
                worker.pool_size,
                worker.shared_connections,
                worker.reuse_port
            ),
            (10, 2, true)
        );
        assert_eq!(settings(&[("WORKERS", "0")]).unwrap().workers, 0);
        assert!(settings(&[("WORKERS", "auto")]).unwrap().workers >= 1);
        assert_eq!(
            settings(&[("WORKERS", "many")]).unwrap_err().variable,
            "WORKERS"
        );
    }

    #[test]
    fn function_limits_override_what_functions_ask() {
        let s = settings(&[(
            "FUNCTION_LIMITS",
            "orders-create=timeout_ms:250,concurrency:3",
        )])
        .unwrap();
        let asked = Limits {
            timeout: Some(Duration::from_secs(1)),
            concurrency: None,
            db_connections: Some(2),
        };
        let resolved = s.limits_for("orders-create", asked);
        assert_eq!(resolved.timeout, Duration::from_millis(250));
        assert_eq!(resolved.concurrency, 3);
        assert_eq!(resolved.db_connections, 2);
        assert_eq!(
            s.limits_for("users-get", asked).timeout,
            Duration::from_secs(1)
        );
        assert!(settings(&[("FUNCTION_LIMITS", "x=speed:3")]).is_err());
        assert!(settings(&[("FUNCTION_LIMITS", "x=timeout_ms:0")]).is_err());
    }

    #[test]
    fn secrets_may_come_from_files() {
        let dir = std::env::temp_dir().join(format!("config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("url");
        std::fs::write(&file, "postgres://u:p@db/shop\n").unwrap();
        let s = settings(&[("DATABASE_URL_FILE", file.to_str().unwrap())]).unwrap();
        assert_eq!(
            s.database_url.as_ref().map(Secret::expose),
            Some("postgres://u:p@db/shop")
        );
        assert!(!format!("{s:?}").contains("u:p@"), "a secret reached Debug");
        let error = settings(&[("DATABASE_URL_FILE", "/nonexistent/url")]).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL_FILE");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
