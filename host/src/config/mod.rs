//! Configuration: the environment, read once at start-up into typed
//! settings. A bad value is an error that names the variable.
//!
//! [`env`] reads variables, [`limits`] the per-function limits; this module
//! holds [`Settings`], what the runtime can be told. Settings are values
//! only: what runs (rate limiters, the tracer, the connection balancer) is
//! made from them at start by the room that owns it.

mod cors;
mod env;
mod from_env;
pub mod glob;
pub mod identity;
mod limits;
mod migrations;
mod otel;
mod proxies;
mod rate;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use contract::Limits;

pub use cors::Cors;
use env::Env;
pub use env::{ConfigError, Secret};
use limits::parse_function_limits;
pub use limits::{RateOverride, ResolvedLimits};
pub use migrations::{MigrateMode, Migrations};
pub use otel::{Sampler, TraceSettings};
pub use proxies::TrustedProxies;
pub use rate::Rate;

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
            // on two cores; more only spread the same work thinner
            // (`DB_SHARED_CONNECTIONS=n loadtest/bench` measures it again).
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
            functions: vec!["*".into()],
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(8),
            log_level: "info".into(),
            log_format: LogFormat::Text,
            embedded_pg_dir: PathBuf::from(".data/postgres"),
            // One single-threaded runtime per core measured faster than one
            // multi-threaded runtime (loadtest/results/*-bench-*workers*.json).
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            reuse_port: false,
            database_ca_file: None,
            api_keys: Vec::new(),
            api_keys_read: false,
            api_keys_exempt: vec!["health".into(), "db-check".into()],
            cors: None,
            traces: None,
            migrations: Migrations::default(),
        }
    }
}

impl Settings {
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
mod tests;
