//! Trace export settings, from the standard `OTEL_*` variables as the
//! OpenTelemetry SDKs read them, so an operator's usual configuration
//! works unchanged. Only OTLP over HTTP with protobuf is spoken; asking for
//! another protocol is an error at start-up, not a silent nothing.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Uri};

use super::env::{ConfigError, Env};

/// How traces are sampled (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    /// For a request that starts a trace: the share of traces kept, 0 to 1.
    pub ratio: f64,
    /// `parentbased_*`: a request whose caller sent `traceparent` follows
    /// the caller's sampled flag.
    pub parent_based: bool,
}

/// Where and how spans are exported.
#[derive(Clone, Debug)]
pub struct TraceSettings {
    /// The full URL spans are POSTed to (`…/v1/traces`).
    pub endpoint: Uri,
    /// Extra request headers (e.g. a collector's token), kept out of logs.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub timeout: Duration,
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, besides `service.name`.
    pub resource: Vec<(String, String)>,
    pub sampler: Sampler,
    pub schedule_delay: Duration,
    pub max_queue: usize,
    pub max_batch: usize,
}

fn invalid(variable: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// The trace settings, or `None` when no exporter is asked for.
pub(super) fn read(env: &Env<'_>) -> Result<Option<TraceSettings>, ConfigError> {
    if env.parse::<bool>("OTEL_SDK_DISABLED")?.unwrap_or(false) {
        return Ok(None);
    }
    match env.string("OTEL_TRACES_EXPORTER").as_deref().map(str::trim) {
        None | Some("otlp") => {}
        Some("none") => return Ok(None),
        Some(other) => {
            return Err(invalid(
                "OTEL_TRACES_EXPORTER",
                other,
                "only `otlp` and `none` are supported",
            ))
        }
    }
    let endpoint = match (
        env.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        env.string("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(url), _) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.trim().to_owned()),
        (None, Some(base)) => (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/v1/traces", base.trim().trim_end_matches('/')),
        ),
        (None, None) => return Ok(None),
    };
    let (variable, url) = endpoint;
    let endpoint: Uri = url
        .parse()
        .map_err(|_| invalid(variable, &url, "not a URL"))?;
    if endpoint.scheme_str() != Some("http") || endpoint.host().is_none() {
        return Err(invalid(
            variable,
            &url,
            "must be an http:// URL (OTLP over HTTP; TLS to the collector is not supported, run one beside the service)",
        ));
    }
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = env.string(variable) {
            if protocol.trim() != "http/protobuf" {
                return Err(invalid(
                    variable,
                    &protocol,
                    "only `http/protobuf` is supported",
                ));
            }
        }
    }
    let headers = match env
        .string("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .map(|h| ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", h))
        .or_else(|| {
            env.string("OTEL_EXPORTER_OTLP_HEADERS")
                .map(|h| ("OTEL_EXPORTER_OTLP_HEADERS", h))
        }) {
        Some((variable, value)) => parse_headers(&value)
            .map_err(|reason| invalid(variable, "(not shown: may hold a token)", reason))?,
        None => Vec::new(),
    };
    let timeout = env
        .millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")?
        .or(env.millis("OTEL_EXPORTER_OTLP_TIMEOUT")?)
        .unwrap_or(Duration::from_secs(10));
    let mut resource = Vec::new();
    if let Some(value) = env.string("OTEL_RESOURCE_ATTRIBUTES") {
        for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                invalid(
                    "OTEL_RESOURCE_ATTRIBUTES",
                    &value,
                    format!("`{pair}` should be key=value"),
                )
            })?;
            resource.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let service_name = env
        .string("OTEL_SERVICE_NAME")
        .or_else(|| {
            resource
                .iter()
                .find(|(key, _)| key == "service.name")
                .map(|(_, value)| value.clone())
        })
        .unwrap_or_else(|| super::identity::SERVICE_NAME.to_owned());
    resource.retain(|(key, _)| key != "service.name");
    Ok(Some(TraceSettings {
        endpoint,
        headers,
        timeout,
        service_name,
        resource,
        sampler: sampler(env)?,
        schedule_delay: env
            .millis("OTEL_BSP_SCHEDULE_DELAY")?
            .unwrap_or(Duration::from_secs(5)),
        max_queue: env
            .parse_range("OTEL_BSP_MAX_QUEUE_SIZE", 1, 1_000_000)?
            .unwrap_or(2048),
        max_batch: env
            .parse_range("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 100_000)?
            .unwrap_or(512),
    }))
}

fn sampler(env: &Env<'_>) -> Result<Sampler, ConfigError> {
    let name = env
        .string("OTEL_TRACES_SAMPLER")
        .unwrap_or_else(|| "parentbased_always_on".into());
    let arg = || -> Result<f64, ConfigError> {
        match env.string("OTEL_TRACES_SAMPLER_ARG") {
            None => Ok(1.0),
            Some(value) => value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|ratio| (0.0..=1.0).contains(ratio))
                .ok_or_else(|| {
                    invalid(
                        "OTEL_TRACES_SAMPLER_ARG",
                        &value,
                        "must be a number from 0 to 1",
                    )
                }),
        }
    };
    let (ratio, parent_based) = match name.trim() {
        "always_on" => (1.0, false),
        "always_off" => (0.0, false),
        "traceidratio" => (arg()?, false),
        "parentbased_always_on" => (1.0, true),
        "parentbased_always_off" => (0.0, true),
        "parentbased_traceidratio" => (arg()?, true),
        other => {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER",
                other,
                "one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
            ))
        }
    };
    Ok(Sampler {
        ratio,
        parent_based,
    })
}

/// `key=value,key2=value2`, values percent-encoded as the spec says.
fn parse_headers(value: &str) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut headers = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, raw) = pair
            .split_once('=')
            .ok_or_else(|| "each header should be name=value".to_owned())?;
        let name = HeaderName::try_from(name.trim())
            .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(raw.trim()).collect();
        let mut value = HeaderValue::try_from(decoded)
            .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(pairs: &[(&str, &str)]) -> Result<Option<TraceSettings>, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        read(&Env { lookup: &lookup })
    }

    #[test]
    fn no_endpoint_no_exporter() {
        assert!(read_from(&[]).unwrap().is_none());
        assert!(read_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_SDK_DISABLED", "true")
        ])
        .unwrap()
        .is_none());
    }

    #[test]
    fn the_standard_variables_are_honoured() {
        let settings = read_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20t0k,x-tenant=a",
            ),
            ("OTEL_SERVICE_NAME", "shop-eu"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,service.name=x",
            ),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(settings.endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(settings.headers[0].1, "Bearer t0k");
        assert!(!format!("{settings:?}").contains("t0k"));
        assert_eq!(settings.service_name, "shop-eu");
        assert_eq!(
            settings.resource,
            [("deployment.environment".to_owned(), "prod".to_owned())]
        );
        assert_eq!(
            settings.sampler,
            Sampler {
                ratio: 0.25,
                parent_based: true
            }
        );
        assert_eq!(settings.schedule_delay, Duration::from_millis(200));
    }

    #[test]
    fn what_cannot_be_done_is_refused() {
        for pairs in [
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")][..],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_TRACES_SAMPLER", "sometimes"),
            ],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ],
        ] {
            assert!(read_from(pairs).is_err(), "{pairs:?}");
        }
    }
}
