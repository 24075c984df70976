//! A function's running instance in the host: the isolation a serverless
//! platform gives each function around every call, and its metrics.
//!
//! - concurrency: at most `concurrency` calls run; a few more wait up to the
//!   queue timeout, the rest get 503 at once;
//! - time: past its limit a call ends with 504, and its future is dropped,
//!   which rolls back any open transaction;
//! - panics: a panic is caught, logged with the function's name, counted,
//!   and answered with 500; the worker, the pool and every other function
//!   carry on;
//! - database: the function's bulkhead lives in its [`Db`].

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use contract::{Db, Function, Outcome, Problem, Rejection, Request};
use futures_util::FutureExt;
use metrics::{Counter, Gauge, Histogram};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ResolvedLimits;
use crate::policy::rate_limit::Limiter;
use crate::telemetry::metrics::{ACTIVE_REQUESTS, REJECTIONS, REQUEST_DURATION};

/// The target of a function's panic and timeout lines, which operators
/// filter on (`RUST_LOG=host::instance=warn`): the name of the concern,
/// not of the file it lives in.
const LOG_TARGET: &str = "host::instance";

/// One function, ready to be called under its limits.
pub struct Instance {
    pub function: Function,
    pub limits: ResolvedLimits,
    pub db: Db,
    permits: Arc<Semaphore>,
    queued: AtomicU32,
    queue_timeout: Duration,
    pub metrics: RouteMetrics,
    /// The rate limit its calls are counted against, if any.
    pub rate_limit: Option<Arc<Limiter>>,
}

impl Instance {
    pub fn new(
        function: Function,
        limits: ResolvedLimits,
        db: Db,
        queue_timeout: Duration,
        rate_limit: Option<Arc<Limiter>>,
    ) -> Instance {
        Instance {
            function,
            limits,
            db,
            permits: Arc::new(Semaphore::new(limits.concurrency as usize)),
            queued: AtomicU32::new(0),
            queue_timeout,
            metrics: RouteMetrics::new(function.name, function.path),
            rate_limit,
        }
    }

    /// Runs the handler on `req` under the function's limits.
    pub async fn call(&self, req: Request) -> Outcome {
        let _permit = self.admit().await?;
        let _active = Active::new(&self.metrics.active);
        let run = AssertUnwindSafe((self.function.handler)(req)).catch_unwind();
        match tokio::time::timeout(self.limits.timeout, run).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(panic)) => {
                tracing::error!(
                    target: LOG_TARGET,
                    function = self.function.name,
                    panic = panic_message(panic.as_ref()),
                    "function panicked; answered 500"
                );
                Err(Problem::internal().with_rejection(Rejection::Panic))
            }
            Err(_) => {
                tracing::warn!(
                    target: LOG_TARGET,
                    function = self.function.name,
                    limit_ms = self.limits.timeout.as_millis() as u64,
                    "function ran past its time limit; answered 504"
                );
                let problem = Problem::new(
                    http::StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "`{}` did not finish within its {} ms time limit; its work was rolled back",
                        self.function.name,
                        self.limits.timeout.as_millis()
                    ),
                );
                Err(problem.with_rejection(Rejection::Timeout))
            }
        }
    }

    /// A permit to run, at once or after a short bounded wait.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, Problem> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(permit),
            // Boxed: the wait is room in every call's future that only a
            // call at the limit uses.
            Err(_) => Box::pin(self.queue()).await,
        }
    }

    /// A place in the queue (which holds at most as many waiters as the
    /// function may run) and a permit within the queue's time limit.
    async fn queue(&self) -> Result<OwnedSemaphorePermit, Problem> {
        let waiting = Waiting::enter(&self.queued, self.limits.concurrency);
        if let Some(_waiting) = waiting {
            if let Ok(Ok(permit)) =
                tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await
            {
                return Ok(permit);
            }
        }
        let problem = Problem::unavailable(format!(
            "`{}` is at its concurrency limit of {}; retry shortly",
            self.function.name, self.limits.concurrency
        ));
        Err(problem.with_rejection(Rejection::Overload))
    }
}

/// A place in a function's queue, given back however the wait ends.
struct Waiting<'a>(&'a AtomicU32);

impl<'a> Waiting<'a> {
    fn enter(queued: &'a AtomicU32, bound: u32) -> Option<Waiting<'a>> {
        queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < bound).then_some(n + 1)
            })
            .ok()
            .map(|_| Waiting(queued))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts a call as active for as long as it lives.
struct Active<'a>(&'a Gauge);

impl<'a> Active<'a> {
    fn new(gauge: &'a Gauge) -> Active<'a> {
        gauge.increment(1.0);
        Active(gauge)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The metric handles of one route, registered on first use so that the hot
/// path records without building label sets or taking a lock: one slot per
/// (method, common status), found by index; rarer statuses go through a
/// locked list.
pub struct RouteMetrics {
    function: &'static str,
    route: &'static str,
    active: Gauge,
    rejections: Rejections,
    durations: Box<[OnceLock<Histogram>]>,
    rare: RwLock<Vec<(&'static str, u16, Histogram)>>,
}

/// The function's `function_rejections_total` counters, one per reason.
struct Rejections {
    timeout: Counter,
    overload: Counter,
    panic: Counter,
    pool_exhausted: Counter,
    rate_limit: Counter,
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "_OTHER"];
const STATUSES: [u16; 18] = [
    200, 201, 204, 304, 400, 401, 404, 405, 408, 409, 412, 413, 415, 422, 429, 500, 503, 504,
];

impl RouteMetrics {
    pub fn new(function: &'static str, route: &'static str) -> RouteMetrics {
        let rejection = |reason: Rejection| metrics::counter!(REJECTIONS, "function" => function, "reason" => reason.as_str());
        RouteMetrics {
            function,
            route,
            active: metrics::gauge!(ACTIVE_REQUESTS, "function" => function, "http_route" => route),
            rejections: Rejections {
                timeout: rejection(Rejection::Timeout),
                overload: rejection(Rejection::Overload),
                panic: rejection(Rejection::Panic),
                pool_exhausted: rejection(Rejection::PoolExhausted),
                rate_limit: rejection(Rejection::RateLimit),
            },
            durations: (0..METHODS.len() * STATUSES.len())
                .map(|_| OnceLock::new())
                .collect(),
            rare: RwLock::new(Vec::new()),
        }
    }

    fn histogram(&self, method: &'static str, status: u16) -> Histogram {
        metrics::histogram!(
            REQUEST_DURATION,
            "http_request_method" => method,
            "http_route" => self.route,
            "http_response_status_code" => status.to_string(),
            "function" => self.function,
        )
    }

    /// Records one finished request.
    pub fn record(
        &self,
        method: &'static str,
        status: u16,
        seconds: f64,
        rejection: Option<Rejection>,
    ) {
        if let Some(rejection) = rejection {
            let rejections = &self.rejections;
            match rejection {
                Rejection::Timeout => &rejections.timeout,
                Rejection::Overload => &rejections.overload,
                Rejection::Panic => &rejections.panic,
                Rejection::PoolExhausted => &rejections.pool_exhausted,
                Rejection::RateLimit => &rejections.rate_limit,
            }
            .increment(1);
        }
        let method_slot = METHODS.iter().position(|m| *m == method);
        let status_slot = STATUSES.iter().position(|s| *s == status);
        if let (Some(m), Some(s)) = (method_slot, status_slot) {
            self.durations[m * STATUSES.len() + s]
                .get_or_init(|| self.histogram(method, status))
                .record(seconds);
            return;
        }
        let known = self
            .rare
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
            .map(|(_, _, histogram)| histogram.clone());
        let histogram = known.unwrap_or_else(|| {
            let histogram = self.histogram(method, status);
            self.rare
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push((method, status, histogram.clone()));
            histogram
        });
        histogram.record(seconds);
    }
}
