//! One request, from hyper's head and body to the response: route, read the
//! body under its limit, call the function through its instance, render the
//! reply or problem, record metrics and the access log line.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use contract::trace::Recorder;
use contract::{Method, Outcome, Problem, Reply, Request, RequestParts, ServiceInfo};
use http::header::{HeaderValue, AUTHORIZATION, ORIGIN, WWW_AUTHENTICATE};
use http::StatusCode;
use hyper::body::Incoming;

use crate::config::{BodyLimits, LogFormat, Settings};
use crate::policy::auth::ApiKeys;
use crate::policy::instance::{Instance, RouteMetrics};
use crate::policy::rate_limit::{Client, TrustedProxies};
use crate::server::cors::Cors;
use crate::server::router::{FunctionId, Match, Router};
use crate::telemetry::access_log;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::request_log;
use crate::telemetry::traces::{self, Parent, Tracer};

mod asks;
mod body;
mod metrics_endpoint;
mod refusals;
mod render;
mod request_id;

use asks::{Asks, X_REQUEST_ID};
pub use metrics_endpoint::MetricsEndpoint;
pub use refusals::MAX_QUERY_BYTES;
use refusals::{method_not_allowed, refused, refused_outright, truncate, unsupported_encoding};
pub use render::Response;
use render::{not_modified, NOSNIFF, X_CONTENT_TYPE_OPTIONS};
pub(crate) use render::{render, Delivery};
use request_id::RequestIds;

/// Everything a request needs, built once at start-up and shared.
pub struct App {
    pub router: Router,
    pub instances: Vec<Instance>,
    pub service: Arc<ServiceInfo>,
    /// Set when `/metrics` is served on the main listener.
    pub metrics: Option<MetricsEndpoint>,
    body: BodyLimits,
    api_keys: ApiKeys,
    unmatched: RouteMetrics,
    metrics_route: RouteMetrics,
    preflight_route: RouteMetrics,
    request_ids: RequestIds,
    log_format: LogFormat,
    cors: Option<Cors>,
    trusted_proxies: TrustedProxies,
    ipv6_prefix: u8,
    tracer: Option<Arc<Tracer>>,
}

impl App {
    pub fn new(
        router: Router,
        instances: Vec<Instance>,
        service: Arc<ServiceInfo>,
        metrics: Option<Metrics>,
        settings: &Settings,
        tracer: Option<Arc<Tracer>>,
    ) -> App {
        let api_keys = ApiKeys::from_settings(settings);
        let metrics = metrics.map(|metrics| MetricsEndpoint {
            metrics,
            api_keys: api_keys.clone(),
        });
        App {
            api_keys,
            body: settings.body_limits(),
            router,
            instances,
            service,
            metrics,
            unmatched: RouteMetrics::new("none", "unmatched"),
            metrics_route: RouteMetrics::new("metrics", "/metrics"),
            preflight_route: RouteMetrics::new("cors", "preflight"),
            request_ids: RequestIds::new(),
            log_format: settings.log_format,
            cors: settings.cors.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            ipv6_prefix: settings.rate_limit_ipv6_prefix,
            tracer,
        }
    }

    /// Serves one request; never fails, every error is a response.
    ///
    /// What needs no waiting is done here, before the future is made, so
    /// that the request and its arguments are held once, by the future that
    /// serves it, and not also by an outer one (it is moved whole a few
    /// times on its way into hyper).
    pub fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send {
        let started = Instant::now();
        let asks = Asks::of(&request, self.cors.is_some());
        let request_id = self.request_ids.for_request(asks.request_id.as_ref());
        let trace = self.tracer.as_ref().map(|t| t.begin(request.headers()));
        let trace_id = match &trace {
            Some(trace) => Some(traces::hex(&trace.trace_id)),
            None if asks.traceparent => {
                Parent::from_headers(request.headers()).map(|p| traces::hex(&p.trace_id))
            }
            None => None,
        };
        let context = request_log::Context {
            request_id: request_id.clone(),
            trace_id: trace_id.clone(),
        };
        request_log::scope(context, async move {
            let path = trace.is_some().then(|| request.uri().path().to_owned());
            let method = request.method().clone();
            // The URI (a shared buffer, not a copy) for the access line,
            // when there is one.
            let uri = tracing::enabled!(target: "access", tracing::Level::INFO)
                .then(|| request.uri().clone());
            let recorder = trace.as_ref().and_then(|t| t.recorder.clone());
            let (route, function, outcome) = self
                .dispatch(request, &request_id, &asks, peer, recorder.as_ref())
                .await;
            let (status, rejection) = match &outcome {
                Ok(reply) => (reply.status, None),
                Err(problem) => (problem.status, problem.rejection),
            };
            let (outcome, not_modified_length) = match (outcome, &asks.if_none_match) {
                (Ok(reply), Some(if_none_match)) => {
                    let accept = asks.accept_encoding.as_ref();
                    let (reply, length) = not_modified(reply, if_none_match, accept);
                    (Ok(reply), length)
                }
                (outcome, _) => (outcome, None),
            };
            let delivery = Delivery {
                accept_encoding: asks.accept_encoding.as_ref(),
                not_modified_length,
            };
            let response = render(outcome, delivery, |headers| {
                if let Ok(value) = HeaderValue::try_from(request_id.as_str()) {
                    headers.insert(X_REQUEST_ID.clone(), value);
                }
                headers.insert(X_CONTENT_TYPE_OPTIONS.clone(), NOSNIFF.clone());
                if status == StatusCode::UNAUTHORIZED {
                    headers.insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"shop-api\""),
                    );
                }
                if let Some(cors) = &self.cors {
                    cors.mark(asks.origin.as_ref(), headers);
                }
            });
            let elapsed = started.elapsed();
            let metrics = match function {
                Some(id) => &self.instances[id.index()].metrics,
                None if route == "/metrics" => &self.metrics_route,
                None if route == "preflight" => &self.preflight_route,
                None => &self.unmatched,
            };
            let method_label = Method::from_http(&method).map_or("_OTHER", Method::as_str);
            metrics.record(
                method_label,
                response.status().as_u16(),
                elapsed.as_secs_f64(),
                rejection,
            );
            if let (Some(tracer), Some(trace)) = (&self.tracer, trace) {
                let finished = traces::Finished {
                    method: method.as_str(),
                    route,
                    path: path.as_deref().unwrap_or_default(),
                    function: function.map(|id| self.instances[id.index()].function.name),
                    status: response.status().as_u16(),
                    request_id: &request_id,
                };
                tracer.end(trace, &finished);
            }
            if let Some(uri) = uri {
                let line = access_log::Line {
                    request_id: &request_id,
                    trace_id: trace_id.as_deref(),
                    method: method.as_str(),
                    // What the client wrote, cut: a line stays a line.
                    path: truncate(uri.path(), MAX_LOGGED_PATH),
                    route,
                    status: response.status().as_u16(),
                    latency: elapsed,
                };
                access_log::write(self.log_format, &line, started + elapsed);
            }
            response
        })
    }

    /// Routes and runs the request: (route template, function index, outcome).
    async fn dispatch(
        &self,
        request: http::Request<Incoming>,
        request_id: &str,
        asks: &Asks,
        peer: SocketAddr,
        recorder: Option<&Recorder>,
    ) -> (&'static str, Option<FunctionId>, Outcome) {
        let path = request.uri().path();
        if request.method() == http::Method::OPTIONS {
            if let Some(cors) = &self.cors {
                return self.options(cors, &request);
            }
        }
        if path == "/metrics" {
            if let Some(metrics) = &self.metrics {
                return ("/metrics", None, metrics.answer(&request));
            }
        }
        if let Some(problem) = refused_outright(&request) {
            return ("unmatched", None, Err(problem));
        }
        let (function, method, params) = match self.router.find(request.method(), path) {
            Match::Found {
                function,
                method,
                params,
            } => (function, method, params),
            Match::MethodNotAllowed { allow } => {
                return ("unmatched", None, Err(method_not_allowed(allow)));
            }
            Match::NotFound => {
                let problem = Problem::not_found(format!("no route for {}", truncate(path, 200)));
                return ("unmatched", None, Err(problem));
            }
        };
        let instance = &self.instances[function.index()];
        let route = instance.function.path;
        let authorization = || request.headers().get(AUTHORIZATION);
        let key = match self
            .api_keys
            .required(Method::from_http(request.method()), instance.function.name)
        {
            true => match self.api_keys.check(authorization()) {
                Ok(key) => Some(key),
                Err(problem) => {
                    // A failed attempt costs the address a call, so that
                    // guessing keys is as slow as the limit makes it.
                    let charged = instance.rate_limit.as_ref().and_then(|limiter| {
                        let client = self.client_addr(peer, request.headers());
                        let decision = limiter.check(Client::Addr(client));
                        (!decision.allowed).then(|| refused(limiter, &decision))
                    });
                    return (route, Some(function), Err(charged.unwrap_or(problem)));
                }
            },
            false => None,
        };
        let rate = match &instance.rate_limit {
            Some(limiter) => {
                let client = match key.or_else(|| self.api_keys.identify(authorization())) {
                    Some(key) => Client::Key(key),
                    None => Client::Addr(self.client_addr(peer, request.headers())),
                };
                let decision = limiter.check(client);
                if !decision.allowed {
                    return (route, Some(function), Err(refused(limiter, &decision)));
                }
                Some(limiter.headers(&decision))
            }
            None => None,
        };
        let (parts, body) = request.into_parts();
        if let Some(problem) = unsupported_encoding(&parts.headers) {
            return (
                route,
                Some(function),
                Err(body::unread(problem, parts.version)),
            );
        }
        let body = match body::read(&self.body, &parts.headers, body).await {
            Ok(body) => body,
            Err(problem) => {
                return (
                    route,
                    Some(function),
                    Err(body::unread(problem, parts.version)),
                )
            }
        };
        let db = match asks.fresh_reads {
            true => instance.db.clone().with_fresh_reads(),
            false => instance.db.clone(),
        };
        let req = Request::new(RequestParts {
            method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            params,
            db,
            request_id: request_id.to_owned(),
            service: self.service.clone(),
        });
        let mut outcome = match recorder {
            // Boxed, so the request future (moved whole a few times per
            // request) does not carry room for a second call that only a
            // traced request makes.
            Some(recorder) => Box::pin(recorder.scope(instance.call(req))).await,
            None => instance.call(req).await,
        };
        if let Some(headers) = rate {
            match &mut outcome {
                Ok(reply) => reply.headers.extend(headers),
                Err(problem) => problem.headers.extend(headers),
            }
        }
        (route, Some(function), outcome)
    }

    /// The client's address as the rate limits count it.
    fn client_addr(&self, peer: SocketAddr, headers: &http::HeaderMap) -> std::net::IpAddr {
        let addr = self.trusted_proxies.client_addr(peer, headers);
        crate::server::client_addr::counted(addr, self.ipv6_prefix)
    }

    /// `OPTIONS` with CORS on: 204 with the path's methods, and for an
    /// allowed origin the preflight's grants; 404 for a path nothing serves.
    fn options<B>(
        &self,
        cors: &Cors,
        request: &http::Request<B>,
    ) -> (&'static str, Option<FunctionId>, Outcome) {
        let path = request.uri().path();
        let allow = match self.router.find(request.method(), path) {
            Match::MethodNotAllowed { allow } => allow,
            _ if path == "/metrics" && self.metrics.is_some() => "GET, HEAD",
            Match::Found { .. } | Match::NotFound => {
                let problem = Problem::not_found(format!("no route for {}", truncate(path, 200)));
                return ("unmatched", None, Err(problem));
            }
        };
        let headers = cors.preflight(request.headers().get(ORIGIN), allow);
        let reply = Reply {
            headers: headers
                .into_iter()
                .filter_map(|(name, value)| Some((name?, value)))
                .collect(),
            ..Reply::no_content()
        };
        ("preflight", None, Ok(reply))
    }
}

/// The most characters of a path an access line carries.
const MAX_LOGGED_PATH: usize = 512;
