//! The host: the thin runtime that serves function crates, without knowing
//! any of them. The `runtime` binary hands it the registry (the list of
//! every function); tests hand it the few they need.
//!
//! `start` wires the pieces, each in its own module: [`config`] (settings),
//! [`pool`] (bb8 and the shared lanes), [`replicas`] (read replicas and
//! their watcher), [`schema`] (applies `sql/`, when [`migrate`] says),
//! [`readiness`] (the listener while starting), [`router`] (path →
//! function), [`instance`] (a function's running instance: its isolation and
//! metrics around each call),
//! [`service`] (one request end to end), [`auth`] (API keys), [`server`]
//! (listeners, connection limits, graceful shutdown) and [`metrics`]
//! (Prometheus). [`embedded`] runs a local PostgreSQL when no
//! `DATABASE_URL` is given.

pub mod access_log;
pub mod auth;
pub mod balance;
pub mod client_addr;
pub mod compress;
pub mod config;
pub mod cors;
pub mod embedded;
pub mod instance;
mod log_format;
pub mod log_queue;
pub mod metrics;
pub mod migrate;
pub mod open_writes;
pub mod otlp;
pub mod pool;
pub mod rate_limit;
pub mod readiness;
pub mod replicas;
pub mod request_log;
pub mod router;

pub use router::route_table;
pub mod schema;
pub mod server;
pub mod service;
pub mod traces;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use contract::db::DbSource;
use contract::{Db, DbError, Function, RouteInfo, ServiceInfo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::ApiKeys;
use crate::config::Settings;
use crate::instance::Instance;
use crate::metrics::{Metrics, MetricsError};
use crate::pool::{Database, PoolOptions};
use crate::router::{Router, RouterError};
use crate::schema::SchemaError;
use crate::server::{ConnectionLimits, Serve};
use crate::service::{App, MetricsEndpoint, Response};

pub const SERVICE_NAME: &str = "shop-api";
/// The git revision of this build (build.rs: `GIT_REVISION`, else `git
/// rev-parse --short=12 HEAD`, else "unknown").
pub const REVISION: &str = env!("GIT_REVISION");

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("FUNCTIONS: {0}")]
    Selection(String),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("schema: {0}")]
    Schema(#[from] SchemaError),
    #[error("routes: {0}")]
    Router(#[from] RouterError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// A started runtime.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub service: Arc<ServiceInfo>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    tracer: Option<Arc<traces::Tracer>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish within the grace
    /// period, and returns when every listener is done.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        // The last requests' spans, before the process goes.
        if let Some(tracer) = self.tracer {
            tracer.flush().await;
        }
    }
}

/// Listens, connects, brings the schema up to date (`crate::migrate`),
/// and serves `functions` (those selected by `FUNCTIONS`) until
/// [`Running::shutdown`]. Returns once it serves; until then its listener
/// answers liveness and a 503 to anything else (`crate::readiness`).
pub async fn start(
    settings: Settings,
    database_url: &str,
    functions: &[Function],
) -> Result<Running, StartError> {
    let registry = functions;
    let functions = select(registry, &settings.functions)?;
    let metrics = Metrics::install()?;

    let limits: Vec<_> = functions
        .iter()
        .map(|function| settings.limits_for(function.name, function.limits))
        .collect();
    let longest = limits
        .iter()
        .map(|l| l.timeout)
        .max()
        .unwrap_or(settings.request_timeout);
    let database = Database::new(
        database_url,
        PoolOptions {
            size: settings.pool_size,
            shared: settings.shared_connections,
            timeout: settings.pool_timeout,
            statement_timeout: longest + Duration::from_secs(1),
            ca_file: settings.database_ca_file.clone(),
            statements: settings.db_statements,
            report: true,
            withdrawal: None,
        },
    )?;
    let replicas = settings
        .database_read_urls
        .iter()
        .enumerate()
        .map(|(index, url)| {
            let (out, withdrawn) = tokio::sync::watch::channel(false);
            let primary: Arc<dyn DbSource> = database.clone();
            let database = Database::new(
                url.expose(),
                PoolOptions {
                    // The shared lanes, and reads of input-dependent cost,
                    // each on a connection of its own, as on the primary.
                    size: settings.shared_connections + settings.pool_size,
                    shared: settings.shared_connections,
                    // A replica that does not answer is skipped for the
                    // primary; a read should not wait long to find out.
                    timeout: settings.pool_timeout.min(Duration::from_millis(500)),
                    statement_timeout: longest + Duration::from_secs(1),
                    ca_file: settings.database_ca_file.clone(),
                    statements: settings.db_statements,
                    report: false,
                    withdrawal: Some(contract::db::Withdrawal::new(withdrawn, primary)),
                },
            )?;
            Ok(replicas::Replica::new(index, database, out))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let router = Router::new(&functions)?;

    // Listening before the database is there: liveness answers while the
    // start waits for it and for the schema, however long that takes.
    let conn_limits = ConnectionLimits {
        max_connections: settings.max_connections,
        header_read_timeout: settings.header_read_timeout,
        shutdown_grace: settings.shutdown_grace,
    };
    let listener = bind(&settings.listen_addr(), settings.reuse_port).await?;
    let addr = local_addr(&listener, &settings.listen_addr())?;
    let metrics_listener = match settings.metrics_addr {
        Some(metrics_addr) => Some(bind(&metrics_addr.to_string(), settings.reuse_port).await?),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(listener) => Some(local_addr(listener, "METRICS_ADDR")?),
        None => None,
    };
    let gate = Arc::new(readiness::Gate::default());
    let (stop, stopped) = watch::channel(false);
    let mut tasks = readiness::StartingTasks::default();
    tasks.push(tokio::spawn(server::serve(
        listener,
        gate.clone(),
        conn_limits,
        // Several workers on the port: even out what the kernel deals.
        settings.reuse_port.then(|| settings.balancer.join()),
        wait_for(stopped.clone()),
    )));
    let api_keys = ApiKeys::from_settings(&settings);
    if let Some(listener) = metrics_listener {
        let exporter = Arc::new(MetricsOnly(MetricsEndpoint {
            metrics: metrics.clone(),
            api_keys,
        }));
        tasks.push(tokio::spawn(server::serve(
            listener,
            exporter,
            conn_limits,
            None,
            wait_for(stopped.clone()),
        )));
    }
    // Workers start alike; the route table and the address are logged once
    // per process, by whichever starts first.
    static ANNOUNCED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let announce = !ANNOUNCED.swap(true, std::sync::atomic::Ordering::Relaxed);
    if announce {
        tracing::info!(%addr, metrics = ?metrics_addr, "listening");
    }
    // On an error the listeners stop with `tasks`.
    migrate::prepare(&settings, &database).await?;
    let databases = Arc::new(replicas::Databases::new(database.clone(), replicas));
    let source: Arc<dyn DbSource> = databases.clone();
    let instances: Vec<Instance> = functions
        .iter()
        .zip(&limits)
        .map(|(function, limits)| {
            let db = Db::new(
                source.clone(),
                limits.db_connections as usize,
                settings.pool_timeout,
            );
            let rate_limit = settings
                .rate_policy_for(function.name)
                .map(|(policy, rate)| settings.limiters.get(&policy, rate));
            Instance::new(*function, *limits, db, settings.queue_timeout, rate_limit)
        })
        .collect();

    if announce {
        for instance in &instances {
            tracing::info!(
                function = instance.function.name,
                methods = router::allow_header(instance.function.methods.iter().copied()),
                path = instance.function.path,
                timeout_ms = instance.limits.timeout.as_millis() as u64,
                concurrency = instance.limits.concurrency,
                db_connections = instance.limits.db_connections,
                "route"
            );
        }
    }
    // The route table `GET /` shows is the whole API's, also when this
    // process serves a subset (FUNCTIONS) behind a gateway that sends each
    // route to the process that serves it.
    let mut routes = route_table(registry, &settings);
    let metrics_on_main = settings.metrics_addr.is_none();
    if metrics_on_main {
        for method in ["GET", "HEAD"] {
            routes.push(RouteInfo {
                function: "metrics".into(),
                method: method.into(),
                path: "/metrics".into(),
                timeout_ms: 0,
                concurrency: 0,
                db_connections: 0,
            });
        }
    }
    let service = Arc::new(ServiceInfo {
        service: SERVICE_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        routes,
    });

    let max_replica_lag = settings.database_read_max_lag;
    let tracer = settings
        .traces
        .as_ref()
        .map(|traces| settings.tracer.get(traces));
    let app = Arc::new(App::new(
        router,
        instances,
        service.clone(),
        metrics_on_main.then(|| metrics.clone()),
        &settings,
        tracer.clone(),
    ));
    gate.open(app);
    let mut tasks = tasks.keep();
    tasks.push(tokio::spawn(
        databases.watch(max_replica_lag, wait_for(stopped)),
    ));
    if announce {
        tracing::info!(%addr, "ready");
    }
    Ok(Running {
        addr,
        metrics_addr,
        service,
        stop,
        tasks,
        tracer,
    })
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Binds `addr` without `SO_REUSEPORT` and lets go at once: fails with
/// "address in use" while any process listens there, and resolves port 0
/// to a free port. Run before the workers bind it together.
pub async fn claim_port(addr: &str) -> Result<SocketAddr, StartError> {
    let socket = socket_for(addr, false).await?;
    socket.local_addr().map_err(|source| StartError::Bind {
        addr: addr.to_owned(),
        source,
    })
}

/// A bound socket for `addr`, sharing the port with the other workers'
/// when `reuse_port`.
async fn socket_for(addr: &str, reuse_port: bool) -> Result<tokio::net::TcpSocket, StartError> {
    let failed = |source| StartError::Bind {
        addr: addr.to_owned(),
        source,
    };
    let resolved = tokio::net::lookup_host(addr)
        .await
        .map_err(failed)?
        .next()
        .ok_or_else(|| {
            failed(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })?;
    let socket = if resolved.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(failed)?;
    socket.set_reuseaddr(true).map_err(failed)?;
    if reuse_port {
        socket.set_reuseport(true).map_err(failed)?;
    }
    socket.bind(resolved).map_err(failed)?;
    Ok(socket)
}

/// A listener on `addr`; with `reuse_port`, one of several workers' sockets
/// on the same port, among which the kernel spreads connections.
async fn bind(addr: &str, reuse_port: bool) -> Result<TcpListener, StartError> {
    let socket = socket_for(addr, reuse_port).await?;
    socket.listen(4096).map_err(|source| StartError::Bind {
        addr: addr.to_owned(),
        source,
    })
}

fn local_addr(listener: &TcpListener, name: &str) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind {
        addr: name.to_owned(),
        source,
    })
}

/// The functions whose names match one of `globs` (`*` matches any run of
/// characters). A glob that matches nothing is a mistake worth stopping for.
pub fn select(functions: &[Function], globs: &[String]) -> Result<Vec<Function>, StartError> {
    for glob in globs {
        if !functions.iter().any(|f| glob_match(glob, f.name)) {
            let names: Vec<_> = functions.iter().map(|f| f.name).collect();
            return Err(StartError::Selection(format!(
                "`{glob}` matches no function; there are: {}",
                names.join(", ")
            )));
        }
    }
    Ok(functions
        .iter()
        .filter(|f| globs.iter().any(|glob| glob_match(glob, f.name)))
        .copied()
        .collect())
}

pub(crate) fn glob_match(glob: &str, name: &str) -> bool {
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

/// The metrics listener when `METRICS_ADDR` moves it off the main one.
struct MetricsOnly(MetricsEndpoint);

impl Serve for MetricsOnly {
    async fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
        _peer: SocketAddr,
    ) -> Response {
        let outcome = if request.uri().path() == "/metrics" {
            self.0.answer(&request)
        } else {
            Err(contract::Problem::not_found("only /metrics is served here"))
        };
        let delivery = service::Delivery {
            accept_encoding: request.headers().get(http::header::ACCEPT_ENCODING),
            not_modified_length: None,
        };
        service::render(outcome, delivery, |_| {})
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
