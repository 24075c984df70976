//! The host: the thin runtime that serves function crates, without knowing
//! any of them. The `runtime` binary hands it the registry (the list of
//! every function); tests hand it the few they need.
//!
//! Each concern is a room; [`start`] only wires them: [`config`] (the
//! settings, values only), [`db`] (pools, replicas, schema, the embedded
//! PostgreSQL), [`server`] (the way in: listeners, the HTTP service, router,
//! CORS, compression), [`policy`] (a function's instance and its limits, API
//! keys, rate limits) and [`telemetry`] (metrics, traces, logs). What the
//! workers of one process share is [`Shared`]. ARCHITECTURE.md at the
//! repository's root follows one request through them.

pub mod config;
pub mod db;
pub mod policy;
pub mod server;
mod shared;
pub mod telemetry;

// The paths the runtime and the tests name.
pub use config::identity::{REVISION, SERVICE_NAME};
pub use db::{embedded, pool, schema};
pub use policy::rate_limit;
pub use server::bind::claim_port;
pub use server::cors;
pub use server::router::route_table;
pub use shared::Shared;
pub use telemetry::{access_log, log_queue, request_log};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use contract::db::DbSource;
use contract::{Db, DbError, Function, RouteInfo, ServiceInfo};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::db::pool::{Database, PoolOptions};
use crate::db::schema::SchemaError;
use crate::policy::auth::ApiKeys;
use crate::policy::instance::Instance;
use crate::server::bind::{self, BindError};
use crate::server::listener::{self, ConnectionLimits};
use crate::server::metrics_only::MetricsOnly;
use crate::server::router::{Router, RouterError};
use crate::server::service::{App, MetricsEndpoint};
use crate::telemetry::metrics::{Metrics, MetricsError};

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
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A started runtime.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub service: Arc<ServiceInfo>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    tracer: Option<Arc<telemetry::traces::Tracer>>,
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

/// Listens, connects, brings the schema up to date ([`db::migrate`]), and
/// serves `functions` (those selected by `FUNCTIONS`) until
/// [`Running::shutdown`]: a process of one worker. Returns once it serves;
/// until then its listener answers liveness and a 503 to anything else
/// ([`server::readiness`]).
pub async fn start(
    settings: Settings,
    database_url: &str,
    functions: &[Function],
) -> Result<Running, StartError> {
    start_worker(settings, Shared::default(), database_url, functions).await
}

/// [`start`] for one of several workers of a process, which share what
/// `shared` holds (each worker gets a clone). Returns, and serves, once
/// every worker of the process has built its service.
pub async fn start_worker(
    settings: Settings,
    shared: Shared,
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
            Ok(db::replicas::Replica::new(index, database, out))
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
    let listener = bind::bind(&settings.listen_addr(), settings.reuse_port).await?;
    let addr = bind::local_addr(&listener, &settings.listen_addr())?;
    let metrics_listener = match settings.metrics_addr {
        Some(metrics_addr) => {
            Some(bind::bind(&metrics_addr.to_string(), settings.reuse_port).await?)
        }
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(listener) => Some(bind::local_addr(listener, "METRICS_ADDR")?),
        None => None,
    };
    let gate = Arc::new(server::readiness::Gate::default());
    let (stop, stopped) = watch::channel(false);
    let mut tasks = server::readiness::StartingTasks::default();
    tasks.push(tokio::spawn(listener::serve(
        listener,
        gate.clone(),
        conn_limits,
        // Several workers on the port: even out what the kernel deals.
        settings.reuse_port.then(|| shared.balancer.join()),
        wait_for(stopped.clone()),
    )));
    let api_keys = ApiKeys::from_settings(&settings);
    if let Some(listener) = metrics_listener {
        let exporter = Arc::new(MetricsOnly(MetricsEndpoint {
            metrics: metrics.clone(),
            api_keys,
        }));
        tasks.push(tokio::spawn(listener::serve(
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
    db::migrate::prepare(&settings, &database).await?;
    let databases = Arc::new(db::replicas::Databases::new(database.clone(), replicas));
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
                .map(|(policy, rate)| shared.limiters.get(&policy, rate));
            Instance::new(*function, *limits, db, settings.queue_timeout, rate_limit)
        })
        .collect();

    if announce {
        for instance in &instances {
            tracing::info!(
                function = instance.function.name,
                methods = server::router::allow_header(instance.function.methods.iter().copied()),
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
        service: config::identity::SERVICE_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        routes,
    });

    let max_replica_lag = settings.database_read_max_lag;
    let tracer = settings
        .traces
        .as_ref()
        .map(|traces| shared.tracer.get(traces));
    let app = Arc::new(App::new(
        router,
        instances,
        service.clone(),
        metrics_on_main.then(|| metrics.clone()),
        &settings,
        tracer.clone(),
    ));
    // A worker serves once its siblings can too (see `readiness`).
    shared.opening.all_built().await;
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

/// The functions whose names match one of `globs` (`*` matches any run of
/// characters). A glob that matches nothing is a mistake worth stopping for.
pub fn select(functions: &[Function], globs: &[String]) -> Result<Vec<Function>, StartError> {
    for glob in globs {
        if !functions
            .iter()
            .any(|f| config::glob::glob_match(glob, f.name))
        {
            let names: Vec<_> = functions.iter().map(|f| f.name).collect();
            return Err(StartError::Selection(format!(
                "`{glob}` matches no function; there are: {}",
                names.join(", ")
            )));
        }
    }
    Ok(functions
        .iter()
        .filter(|f| {
            globs
                .iter()
                .any(|glob| config::glob::glob_match(glob, f.name))
        })
        .copied()
        .collect())
}
