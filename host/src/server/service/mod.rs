//! One request, from hyper's head and body to the response: route, read the
//! body under its limit, call the function through its instance, render the
//! reply or problem, record metrics and the access log line.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use contract::trace::Recorder;
use contract::{Method, Outcome, Problem, Reply, Request, RequestParts, ServiceInfo};
use http::header::{
    HeaderName, HeaderValue, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL,
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH, ORIGIN, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use http::StatusCode;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::config::{BodyLimits, LogFormat, Settings};
use crate::policy::auth::ApiKeys;
use crate::policy::instance::{Instance, RouteMetrics};
use crate::policy::rate_limit::{Client, TrustedProxies};
use crate::server::compress;
use crate::server::cors::Cors;
use crate::server::router::{FunctionId, Match, Router};
use crate::telemetry::access_log;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::request_log;
use crate::telemetry::traces::{self, Parent, Tracer};

pub type Response = http::Response<Full<Bytes>>;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
static X_CONTENT_TYPE_OPTIONS: HeaderName = HeaderName::from_static("x-content-type-options");

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
            return (route, Some(function), Err(problem));
        }
        let body = match self.read_body(&parts.headers, body).await {
            Ok(body) => body,
            Err(problem) => return (route, Some(function), Err(problem)),
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

    /// The whole body, refused early when it declares or reaches more than
    /// the limit, and bounded in time so a trickling client holds nothing.
    async fn read_body(&self, headers: &http::HeaderMap, body: Incoming) -> Result<Bytes, Problem> {
        let limit = self.body.max_bytes;
        let too_large = || {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than the limit of {limit} bytes"),
            )
        };
        if let Some(length) = headers.get(CONTENT_LENGTH) {
            match length.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
                Some(length) if length > limit as u64 => return Err(too_large()),
                Some(_) => {}
                None => return Err(Problem::bad_request("Content-Length is not a number")),
            }
        }
        // No body (most GETs): nothing to wait for, so no timer to set.
        if hyper::body::Body::is_end_stream(&body) {
            return Ok(Bytes::new());
        }
        // Boxed: the wait (a timer and the collector) is room in the request
        // future that a request without a body would carry for nothing.
        let collect = Limited::new(body, limit).collect();
        let read = Box::pin(tokio::time::timeout(self.body.read_timeout, collect));
        match read.await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Ok(Err(error)) => {
                tracing::debug!(%error, "body could not be read");
                Err(Problem::bad_request("the body could not be read"))
            }
            Err(_) => Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            )),
        }
    }
}

/// What the request's headers ask of the runtime, read in one pass over
/// them before the request is handed on: a client that sends none of
/// these headers (most send two or three headers in all) pays for a walk
/// over its few headers, not a hash lookup per name.
struct Asks {
    /// `X-Request-Id`, as the client sent it.
    request_id: Option<HeaderValue>,
    /// Whether `traceparent` came; read in full only when it did.
    traceparent: bool,
    /// `Cache-Control: no-cache`: read from the primary.
    fresh_reads: bool,
    /// On a GET or HEAD only: conditions on other methods are the functions'.
    if_none_match: Option<HeaderValue>,
    accept_encoding: Option<HeaderValue>,
    /// Only read when CORS is on.
    origin: Option<HeaderValue>,
}

impl Asks {
    fn of<B>(request: &http::Request<B>, cors: bool) -> Asks {
        let safe = request.method() == http::Method::GET || request.method() == http::Method::HEAD;
        let mut asks = Asks {
            request_id: None,
            traceparent: false,
            fresh_reads: false,
            if_none_match: None,
            accept_encoding: None,
            origin: None,
        };
        for (name, value) in request.headers() {
            if name == ACCEPT_ENCODING {
                asks.accept_encoding = Some(joined(asks.accept_encoding.take(), value));
            } else if name == IF_NONE_MATCH && safe {
                asks.if_none_match = Some(joined(asks.if_none_match.take(), value));
            } else if name == CACHE_CONTROL {
                asks.fresh_reads |= no_cache(value);
            } else if name == ORIGIN && cors {
                asks.origin = Some(value.clone());
            } else if name == X_REQUEST_ID && asks.request_id.is_none() {
                asks.request_id = Some(value.clone());
            } else if name == TRACEPARENT {
                asks.traceparent = true;
            }
        }
        asks
    }
}

/// The 429 for a call `limiter` refused, with its `RateLimit` headers.
fn refused(
    limiter: &crate::policy::rate_limit::Limiter,
    decision: &crate::policy::rate_limit::Decision,
) -> Problem {
    let mut problem = limiter.refusal(decision);
    problem.headers.extend(limiter.headers(decision));
    problem
}

/// A list-valued header sent as several lines, as one (RFC 9110 §5.3).
fn joined(earlier: Option<HeaderValue>, value: &HeaderValue) -> HeaderValue {
    let Some(earlier) = earlier else {
        return value.clone();
    };
    let mut both = Vec::with_capacity(earlier.len() + value.len() + 2);
    both.extend_from_slice(earlier.as_bytes());
    both.extend_from_slice(b", ");
    both.extend_from_slice(value.as_bytes());
    HeaderValue::from_bytes(&both).unwrap_or(earlier)
}

/// A 200 whose `ETag` the client already holds becomes 304 with no body
/// (RFC 9110 §13.1.2): the same headers but the body's own. With it, the
/// length of the body it stands for, whose encoding decides its headers.
fn not_modified(
    reply: Reply,
    if_none_match: &HeaderValue,
    accept_encoding: Option<&HeaderValue>,
) -> (Reply, Option<usize>) {
    let encoding = compress::chosen(accept_encoding, reply.body.len());
    let hit = reply.status == StatusCode::OK
        && reply.headers.iter().any(|(name, etag)| {
            let sent = encoding.and_then(|encoding| compress::encoded_tag(etag, encoding));
            name == ETAG
                && contract::etag::none_match_hits(if_none_match, sent.as_ref().unwrap_or(etag))
        });
    if !hit {
        return (reply, None);
    }
    let length = reply.body.len();
    let reply = Reply {
        status: StatusCode::NOT_MODIFIED,
        content_type: None,
        body: Bytes::new(),
        headers: reply.headers,
    };
    (reply, Some(length))
}

/// The most characters of a path an access line carries.
const MAX_LOGGED_PATH: usize = 512;

/// The longest query string served: no endpoint reads more than a few
/// short parameters, and a long one costs parsing on every list request.
pub const MAX_QUERY_BYTES: usize = 4096;

/// What no function sees: a query string past [`MAX_QUERY_BYTES`] (414).
fn refused_outright<B>(request: &http::Request<B>) -> Option<Problem> {
    let length = request.uri().query().map_or(0, str::len);
    (length > MAX_QUERY_BYTES).then(|| {
        Problem::new(
            StatusCode::URI_TOO_LONG,
            format!("the query string is {length} bytes; at most {MAX_QUERY_BYTES} are served"),
        )
    })
}

/// 415 for a body in a `Content-Encoding` the runtime does not decode
/// (any but `identity`): read as plain, it would be taken for what it is
/// not (RFC 9110 §8.4).
fn unsupported_encoding(headers: &http::HeaderMap) -> Option<Problem> {
    let encodings: Vec<&str> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        .collect();
    if encodings.is_empty() {
        return None;
    }
    let problem = Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "request bodies are read unencoded; Content-Encoding `{}` is not accepted",
            truncate(&encodings.join(", "), 100)
        ),
    );
    Some(problem.with_header(ACCEPT_ENCODING, HeaderValue::from_static("identity")))
}

/// `Cache-Control: no-cache`: the client will not take a stored (here: a
/// replica's possibly older) answer, so its reads go to the primary.
fn no_cache(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|value| {
        value
            .split(',')
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-cache"))
    })
}

/// `/metrics`, on the main listener or on `METRICS_ADDR`'s: one rule for
/// both, so moving it to a listener of its own changes where it is served,
/// never who may read it.
pub struct MetricsEndpoint {
    pub metrics: Metrics,
    pub api_keys: ApiKeys,
}

impl MetricsEndpoint {
    pub fn answer<B>(&self, request: &http::Request<B>) -> Outcome {
        let method = request.method();
        if method != http::Method::GET && method != http::Method::HEAD {
            return Err(method_not_allowed("GET, HEAD"));
        }
        if self.api_keys.required(Some(Method::Get), "metrics") {
            self.api_keys.check(request.headers().get(AUTHORIZATION))?;
        }
        Ok(Reply {
            status: StatusCode::OK,
            content_type: Some(crate::telemetry::metrics::CONTENT_TYPE),
            body: Bytes::from({
                // The pool's state read now, then the exposition.
                crate::db::pool::export_metrics();
                self.metrics.render()
            }),
            headers: Vec::new(),
        })
    }
}

fn method_not_allowed(allow: &str) -> Problem {
    Problem {
        allow: Some(allow.to_owned()),
        ..Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this path serves {allow} only"),
        )
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// How a response goes out: compressed when the client accepts it (a
/// `HEAD` as the `GET` it stands for, hyper sending no body), and a 304
/// with the headers of the 200 it stands for.
pub(crate) struct Delivery<'a> {
    pub accept_encoding: Option<&'a HeaderValue>,
    /// For a 304, the length of the body it stands for.
    pub not_modified_length: Option<usize>,
}

/// The HTTP response for an outcome: its own headers, then the ones
/// `finish` adds, then the body compressed as `delivery` allows.
pub(crate) fn render(
    outcome: Outcome,
    delivery: Delivery<'_>,
    finish: impl FnOnce(&mut http::HeaderMap),
) -> Response {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    let headers = &mut parts.headers;
    let mut body = match outcome {
        Ok(reply) => {
            parts.status = reply.status;
            if let Some(content_type) = reply.content_type {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            for (name, value) in reply.headers {
                headers.append(name, value);
            }
            reply.body
        }
        Err(problem) => {
            if problem.status.is_server_error() && problem.rejection.is_none() {
                tracing::debug!(%problem, "problem response");
            }
            parts.status = problem.status;
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            if let Some(seconds) = problem.retry_after {
                headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
            }
            if let Some(allow) = problem
                .allow
                .as_deref()
                .and_then(|a| HeaderValue::try_from(a).ok())
            {
                headers.insert(ALLOW, allow);
            }
            let body = Bytes::from(problem.to_json());
            for (name, value) in problem.headers {
                headers.append(name, value);
            }
            body
        }
    };
    finish(headers);
    if let Some(length) = delivery.not_modified_length {
        if let Some(encoding) = compress::negotiate(delivery.accept_encoding, length, headers) {
            compress::retag(headers, encoding);
        }
    }
    compress::apply(delivery.accept_encoding, parts.status, headers, &mut body);
    http::Response::from_parts(parts, Full::new(body))
}

/// Request ids: the client's `X-Request-Id` when it is sane, else a new one.
struct RequestIds {
    prefix: u32,
    counter: AtomicU64,
}

impl RequestIds {
    fn new() -> RequestIds {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or_default();
        RequestIds {
            prefix: seed ^ std::process::id().rotate_left(16),
            counter: AtomicU64::new(0),
        }
    }

    fn for_request(&self, given: Option<&HeaderValue>) -> String {
        if let Some(given) = given.and_then(|v| v.to_str().ok()) {
            let sane = !given.is_empty()
                && given.len() <= 128
                && given.bytes().all(|b| b.is_ascii_graphic());
            if sane {
                return given.to_owned();
            }
        }
        // `{prefix:08x}-{n:012x}`, without the formatting machinery.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = [b'-'; 21];
        hex_digits(&mut id[..8], u64::from(self.prefix));
        hex_digits(&mut id[9..], n);
        // Always ASCII, so never the empty default.
        std::str::from_utf8(&id)
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

/// The low hex digits of `value`, zero-padded, as many as `out` holds.
fn hex_digits(out: &mut [u8], mut value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for digit in out.iter_mut().rev() {
        *digit = HEX[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_request_id_is_the_prefix_and_a_counter_in_hex() {
        let ids = RequestIds {
            prefix: 0x0a1b_2c3d,
            counter: AtomicU64::new(0xfe),
        };
        assert_eq!(ids.for_request(None), "0a1b2c3d-0000000000fe");
        assert_eq!(ids.for_request(None), "0a1b2c3d-0000000000ff");
        let sane = HeaderValue::from_static("from-the-client");
        assert_eq!(ids.for_request(Some(&sane)), "from-the-client");
        let blank = HeaderValue::from_static("");
        assert_eq!(ids.for_request(Some(&blank)), "0a1b2c3d-000000000100");
    }
}
