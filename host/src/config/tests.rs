//! The settings read from variables: defaults, errors that name the
//! variable, files for secrets, workers dividing the pool.

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

#[test]
fn sample_data_only_for_the_embedded_start_unless_asked() {
    let sample_data = |pairs: &[(&str, &str)]| settings(pairs).unwrap().migrations.sample_data;
    assert!(sample_data(&[]));
    let url = ("DATABASE_URL", "postgres://db/shop");
    assert!(!sample_data(&[url]));
    assert!(sample_data(&[url, ("SAMPLE_DATA", "true")]));
    assert!(!sample_data(&[("SAMPLE_DATA", "false")]));
}

#[test]
fn migrate_modes() {
    let mode = |pairs: &[(&str, &str)]| settings(pairs).unwrap().migrations.mode;
    assert_eq!(mode(&[]), MigrateMode::Auto);
    assert_eq!(mode(&[("MIGRATE", "skip")]), MigrateMode::Skip);
    assert_eq!(mode(&[("MIGRATE", "only")]), MigrateMode::Only);
    let wrong = settings(&[("MIGRATE", "later")]);
    assert!(wrong.is_err_and(|error| error.to_string().contains("MIGRATE")));
}
