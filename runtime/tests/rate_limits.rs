//! Rate limits over real HTTP: a quota per client (API key, else address),
//! 429 with `Retry-After`, the draft's `RateLimit` / `RateLimit-Policy`
//! headers, per-function policies, and trusted proxies' `X-Forwarded-For`.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! the quota keys (API key, address, `X-Forwarded-For`) and the `RateLimit`
//! headers are what is tested.

use host::config::Secret;
use http::Method;
use runtime::registry::FUNCTIONS;
use test_support::{TestApp, TestResponse};

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    app.request(Method::GET, path, headers, None).await
}

#[tokio::test]
async fn a_client_past_its_quota_gets_429_with_retry_after_and_ratelimit_headers() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.rate_limit = Some("3/m".parse().unwrap());
    })
    .await;
    for remaining in [2, 1, 0] {
        let ok = get(&app, "/health", &[]).await;
        ok.assert_status(200);
        assert_eq!(ok.header("ratelimit-policy"), Some("\"default\";q=3;w=60"));
        let state = ok.header("ratelimit").unwrap();
        assert!(
            state.starts_with(&format!("\"default\";r={remaining};t=")),
            "{state}"
        );
    }
    let refused = get(&app, "/health", &[]).await;
    let problem = refused.problem(429);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("3 calls per 60 s"));
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert!(refused.header("ratelimit").unwrap().contains(";r=0;"));
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"default\";q=3;w=60")
    );

    // The quota is the client's across functions under one policy, and
    // each refusal is counted. (The registry is the process's: other tests
    // count too, so the count is compared before and after.)
    let before = rate_limit_rejections(&app).await;
    get(&app, "/api/users/1", &[]).await.problem(429);
    assert!(rate_limit_rejections(&app).await > before);
}

/// `function_rejections_total{function="users-get",reason="rate_limit"}`.
async fn rate_limit_rejections(app: &TestApp) -> u64 {
    let metrics = get(app, "/metrics", &[]).await.text();
    metrics
        .lines()
        .find(|line| {
            line.starts_with("function_rejections_total")
                && line.contains("function=\"users-get\"")
                && line.contains("reason=\"rate_limit\"")
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn each_api_key_has_its_own_quota() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.rate_limit = Some("2/m".parse().unwrap());
        settings.api_keys = vec![Secret::new("key-a".into()), Secret::new("key-b".into())];
    })
    .await;
    let a = [("authorization", "Bearer key-a")];
    let b = [("authorization", "Bearer key-b")];
    get(&app, "/api/users/999999", &a).await.problem(404);
    get(&app, "/api/users/999999", &a).await.problem(404);
    get(&app, "/api/users/999999", &a).await.problem(429);
    // Another key, and the address without a key, are other clients.
    get(&app, "/api/users/999999", &b).await.problem(404);
    get(&app, "/api/users/999999", &[]).await.problem(404);
    // A wrong key on a write is still 401, before any quota is spent.
    let post = app
        .request(
            Method::POST,
            "/api/users",
            &[
                ("authorization", "Bearer nope"),
                ("content-type", "application/json"),
            ],
            Some(b"{}".to_vec()),
        )
        .await;
    post.problem(401);
    assert!(post.header("ratelimit").is_none());
}

#[tokio::test]
async fn function_limits_give_a_function_its_own_policy_or_none() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.rate_limit = Some("2/m".parse().unwrap());
        settings
            .function_rates
            .insert("users-get".into(), Some("1/s".parse().unwrap()));
        settings.function_rates.insert("health".into(), None);
    })
    .await;
    let own = get(&app, "/api/users/1", &[]).await;
    assert_eq!(
        own.header("ratelimit-policy"),
        Some("\"users-get\";q=1;w=1")
    );
    get(&app, "/api/users/1", &[]).await.problem(429);
    // The default policy's quota is untouched by that.
    let listed = get(&app, "/api/users", &[]).await;
    listed.assert_status(200);
    assert!(listed
        .header("ratelimit")
        .unwrap()
        .starts_with("\"default\";r=1;"));
    // Exempt: never limited, no headers.
    for _ in 0..5 {
        let health = get(&app, "/health", &[]).await;
        health.assert_status(200);
        assert!(health.header("ratelimit").is_none());
    }
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let trusting = TestApp::start_with(FUNCTIONS, |settings| {
        settings.rate_limit = Some("1/m".parse().unwrap());
        settings.trusted_proxies = host::rate_limit::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let first = [("x-forwarded-for", "203.0.113.1")];
    let second = [("x-forwarded-for", "198.51.100.2, 203.0.113.2")];
    get(&trusting, "/health", &first).await.assert_status(200);
    get(&trusting, "/health", &first).await.problem(429);
    // Only the rightmost untrusted address counts: a client cannot pick a
    // fresh identity by writing one in front.
    get(&trusting, "/health", &second).await.assert_status(200);
    let spoofed = [("x-forwarded-for", "10.9.9.9, 203.0.113.2")];
    get(&trusting, "/health", &spoofed).await.problem(429);

    let untrusting = TestApp::start_with(FUNCTIONS, |settings| {
        settings.rate_limit = Some("1/m".parse().unwrap());
    })
    .await;
    get(&untrusting, "/health", &first).await.assert_status(200);
    // The header is the client's word, not believed: same socket address.
    get(&untrusting, "/health", &second).await.problem(429);
}

#[tokio::test]
async fn a_forwarded_address_in_any_format_counts_and_garbage_counts_as_the_proxy() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.rate_limit = Some("1/m".parse().unwrap());
        settings.trusted_proxies = host::rate_limit::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    // A port or brackets on the entry the proxy wrote: still that client,
    // never the attacker-written entry in front of it.
    for (first, again) in [
        ("6.6.6.1, 203.0.113.10:4711", "6.6.6.2, 203.0.113.10"),
        ("6.6.6.3, [2001:db8::10]:443", "6.6.6.4, 2001:db8::10"),
    ] {
        get(&app, "/health", &[("x-forwarded-for", first)])
            .await
            .assert_status(200);
        get(&app, "/health", &[("x-forwarded-for", again)])
            .await
            .problem(429);
    }
    // `unknown`: the proxy is the client, whatever is written before it.
    get(&app, "/health", &[("x-forwarded-for", "6.6.6.5, unknown")])
        .await
        .assert_status(200);
    get(&app, "/health", &[("x-forwarded-for", "6.6.6.6, unknown")])
        .await
        .problem(429);
    // IPv6 clients count per /64: another address of the same host's
    // network shares the quota.
    get(&app, "/health", &[("x-forwarded-for", "2001:db8:0:7::1")])
        .await
        .assert_status(200);
    get(
        &app,
        "/health",
        &[("x-forwarded-for", "2001:db8:0:7:ffff::2")],
    )
    .await
    .problem(429);
}

#[tokio::test]
async fn a_failed_key_costs_the_address_a_call() {
    let app = TestApp::start_with(FUNCTIONS, |settings| {
        settings.api_keys = vec![Secret::new("the-right-key".into())];
        settings.rate_limit = Some("3/m".parse().unwrap());
    })
    .await;
    let guess = |key: &'static str| {
        let app = &app;
        async move {
            let headers = [("content-type", "application/json"), ("authorization", key)];
            let body = br#"{"username": "g", "email": "g@example.com"}"#.to_vec();
            app.request(Method::POST, "/api/users", &headers, Some(body))
                .await
        }
    };
    for _ in 0..3 {
        guess("Bearer guess").await.problem(401);
    }
    // The guesses used the address's quota: the next one is refused as
    // such, and so is an unauthenticated read.
    let refused = guess("Bearer another-guess").await;
    refused.problem(429);
    assert!(refused.header("retry-after").is_some());
    get(&app, "/api/users", &[]).await.problem(429);
}
