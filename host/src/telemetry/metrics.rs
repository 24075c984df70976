//! Prometheus metrics: the recorder, the exposition, and the names the
//! runtime records under.
//!
//! Names follow the OpenTelemetry HTTP semantic conventions as Prometheus
//! spells them, so stock dashboards work. Every label takes values from a
//! bounded set: route templates, function names, methods, status codes.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
pub const ACTIVE_REQUESTS: &str = "http_server_active_requests";
pub const REJECTIONS: &str = "function_rejections_total";
pub const POOL_WAIT: &str = "db_pool_wait_seconds";
pub const CONNECTION_ERRORS: &str = "db_pool_connection_errors_total";
pub const CLOSED_BROKEN: &str = "db_pool_connections_closed_broken_total";
pub const GET_TIMEOUTS: &str = "db_pool_get_timeouts_total";
pub const ABANDONED: &str = "db_connections_abandoned_total";
pub const ACCEPT_ERRORS: &str = "http_accept_errors_total";
pub const CLOSED_SILENT: &str = "http_connections_closed_silent_total";
pub const CONNECTIONS_HANDED_OVER: &str = "http_connections_handed_over_total";
/// The text exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Sub-millisecond to ten seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, thiserror::Error)]
#[error("the Prometheus recorder could not be installed: {0}")]
pub struct MetricsError(String);

/// The process's metrics recorder and what renders it.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the recorder; later calls (another runtime in the same test
    /// process) share the first one, since `metrics` has one global recorder.
    pub fn install() -> Result<Metrics, MetricsError> {
        static INSTALLED: OnceLock<Result<Metrics, MetricsError>> = OnceLock::new();
        INSTALLED.get_or_init(Self::build).clone()
    }

    fn build() -> Result<Metrics, MetricsError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), LATENCY_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(Matcher::Full(POOL_WAIT.into()), LATENCY_BUCKETS)
            })
            .and_then(|builder| builder.install_recorder())
            .map_err(|error| MetricsError(error.to_string()))?;
        describe();
        // Counters exist from the start at 0, so that rates and alerts see
        // them before their first event.
        for counter in [
            CONNECTION_ERRORS,
            CLOSED_BROKEN,
            GET_TIMEOUTS,
            ABANDONED,
            ACCEPT_ERRORS,
            CLOSED_SILENT,
            CONNECTIONS_HANDED_OVER,
        ] {
            metrics::counter!(counter).absolute(0);
        }
        metrics_process::Collector::default().describe();
        let upkeep = handle.clone();
        // Histograms are drained into their buckets by upkeep; a plain
        // thread keeps it going whatever tokio runtime is alive.
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            })
            .map_err(|error| MetricsError(error.to_string()))?;
        metrics::gauge!(
            "build_info",
            "version" => env!("CARGO_PKG_VERSION"),
            "revision" => env!("GIT_REVISION"),
        )
        .set(1.0);
        Ok(Metrics { handle })
    }

    /// The text exposition, with process metrics collected just now.
    pub fn render(&self) -> String {
        metrics_process::Collector::default().collect();
        self.handle.run_upkeep();
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP server requests."
    );
    describe_gauge!(ACTIVE_REQUESTS, "Number of active HTTP server requests.");
    describe_counter!(
        REJECTIONS,
        "Requests the runtime ended for a function: timeout, overload, panic, pool_exhausted."
    );
    describe_histogram!(
        POOL_WAIT,
        Unit::Seconds,
        "Time spent waiting for a pooled database connection."
    );
    describe_gauge!(
        "db_pool_connections",
        "Database connections by state (in_use, idle)."
    );
    describe_gauge!("db_pool_max_connections", "The pool's maximum size.");
    describe_gauge!(
        "db_pool_pending_requests",
        "Requests waiting for a database connection."
    );
    describe_counter!(
        "db_pool_connection_errors_total",
        "Failed attempts to open a database connection."
    );
    describe_counter!(
        "db_pool_connections_closed_broken_total",
        "Connections discarded because they broke."
    );
    describe_counter!(
        "db_pool_get_timeouts_total",
        "Checkouts that gave up after the pool timeout."
    );
    describe_counter!(
        ABANDONED,
        "Connections closed because a request was dropped while its statement ran (the statement is cancelled)."
    );
    describe_counter!(
        ACCEPT_ERRORS,
        "Failed accepts (e.g. out of file descriptors); the listener backs off."
    );
    describe_counter!(
        CLOSED_SILENT,
        "Connections closed because no byte arrived within HEADER_READ_TIMEOUT_MS."
    );
    describe_counter!(
        CONNECTIONS_HANDED_OVER,
        "Connections a worker accepted and handed to a worker serving fewer (WORKERS > 1)."
    );
    describe_gauge!(
        "build_info",
        "Version and git revision of the running build."
    );
}
