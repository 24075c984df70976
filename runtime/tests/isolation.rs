//! Each function is a unit of isolation: slow, overloaded, panicking or
//! connection-hungry functions hurt themselves alone. Test-only functions
//! misbehave on purpose while `users-get` keeps answering.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! test-only functions outside the document, and the requests only probe
//! which function answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::{Function, Limits, Method, Outcome, Reply, Request};
use test_support::TestApp;

const MARKER: &str =
    "INSERT INTO users (username, email) VALUES ('sleeper', 'sleeper@example.com')";

/// Writes inside a transaction, then outstays its time limit.
async fn sleep_in_transaction(req: Request) -> Outcome {
    let mut conn = req.db().exclusive().await?;
    let tx = conn.transaction().await?;
    tx.execute(MARKER, &[]).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    tx.commit().await?;
    Ok(Reply::no_content())
}

const SLEEPER: Function = Function {
    name: "test-sleeper",
    methods: &[Method::Post],
    path: "/test/sleep",
    limits: Limits {
        timeout: Some(Duration::from_millis(300)),
        ..Limits::DEFAULT
    },
    handler: |req| Box::pin(sleep_in_transaction(req)),
};

async fn panic_now(_req: Request) -> Outcome {
    panic!("deliberate test panic")
}

const PANICKER: Function = Function {
    name: "test-panicker",
    methods: &[Method::Get],
    path: "/test/panic",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(panic_now(req)),
};

async fn busy(_req: Request) -> Outcome {
    tokio::time::sleep(Duration::from_millis(400)).await;
    Ok(Reply::no_content())
}

const BUSY: Function = Function {
    name: "test-busy",
    methods: &[Method::Get],
    path: "/test/busy",
    limits: Limits {
        concurrency: Some(2),
        ..Limits::DEFAULT
    },
    handler: |req| Box::pin(busy(req)),
};

/// Holds an exclusive connection for a while.
async fn hold_connection(req: Request) -> Outcome {
    let conn = req.db().exclusive().await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    drop(conn);
    Ok(Reply::no_content())
}

const HOLDER: Function = Function {
    name: "test-holder",
    methods: &[Method::Get],
    path: "/test/hold",
    limits: Limits {
        db_connections: Some(2),
        ..Limits::DEFAULT
    },
    handler: |req| Box::pin(hold_connection(req)),
};

/// How long `users-get` takes now.
async fn user_latency(app: &TestApp) -> Duration {
    let started = Instant::now();
    app.get("/api/users/1").await.assert_status(200);
    started.elapsed()
}

fn metrics_line<'a>(exposition: &'a str, needles: &[&str]) -> Option<&'a str> {
    exposition
        .lines()
        .find(|line| !line.starts_with('#') && needles.iter().all(|n| line.contains(n)))
}

#[tokio::test]
async fn past_its_time_limit_a_call_is_504_and_its_transaction_rolled_back() {
    let app = TestApp::start(&[SLEEPER, users_get::FUNCTION]).await;
    let started = Instant::now();
    let problem = app
        .request(http::Method::POST, "/test/sleep", &[], None)
        .await
        .problem(504);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(problem["detail"].as_str().unwrap().contains("300 ms"));
    // The dropped transaction was rolled back, and its connection is usable.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE username = 'sleeper'")
            .await,
        0
    );
    app.get("/api/users/1").await.assert_status(200);
    let exposition = String::from_utf8_lossy(&app.get("/metrics").await.body).into_owned();
    assert!(
        metrics_line(
            &exposition,
            &[
                "function_rejections_total",
                "test-sleeper",
                "reason=\"timeout\""
            ]
        )
        .is_some_and(|line| line.ends_with(" 1")),
        "{exposition}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_500_for_that_request_and_nothing_else() {
    let app = Arc::new(TestApp::start(&[PANICKER, users_get::FUNCTION]).await);
    let panics: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.get("/test/panic").await.status.as_u16() })
        })
        .collect();
    for _ in 0..20 {
        app.get("/api/users/1").await.assert_status(200);
    }
    for panic in panics {
        assert_eq!(panic.await.unwrap(), 500);
    }
    let problem = app.get("/test/panic").await.problem(500);
    assert!(
        !problem["detail"].as_str().unwrap().contains("deliberate"),
        "panic text leaked"
    );
    app.get("/api/users/1").await.assert_status(200);
    let exposition = String::from_utf8_lossy(&app.get("/metrics").await.body).into_owned();
    assert!(metrics_line(
        &exposition,
        &[
            "function_rejections_total",
            "test-panicker",
            "reason=\"panic\""
        ]
    )
    .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_its_concurrency_limit_a_function_answers_503_and_others_are_unaffected() {
    let app = Arc::new(
        TestApp::start_with(&[BUSY, users_get::FUNCTION], |s| {
            s.queue_timeout = Duration::from_millis(100);
        })
        .await,
    );
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let response = app.get("/test/busy").await;
                (
                    response.status.as_u16(),
                    response.header("retry-after").map(str::to_owned),
                )
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(user_latency(&app).await < Duration::from_millis(250));
    let mut served = 0;
    let mut refused = 0;
    for call in calls {
        match call.await.unwrap() {
            (204, _) => served += 1,
            (503, Some(retry)) => {
                assert_eq!(retry, "1");
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Two run, two may queue briefly but the queue times out first: at
    // most four are served, the rest are turned away at once.
    assert!((2..=4).contains(&served), "served {served}");
    assert_eq!(served + refused, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_hungry_function_cannot_take_the_pool() {
    let app = Arc::new(
        TestApp::start_with(
            &[HOLDER, users_get::FUNCTION, orders_update::FUNCTION],
            |s| {
                s.pool_timeout = Duration::from_millis(300);
            },
        )
        .await,
    );
    let holders: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.get("/test/hold").await.status.as_u16() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Reads on shared connections and a transaction of another function
    // both get through while the holders hold their share.
    assert!(user_latency(&app).await < Duration::from_millis(250));
    let started = Instant::now();
    app.patch(
        "/api/orders/1",
        &test_support::json!({"status": "confirmed"}),
    )
    .await
    .assert_status(200);
    assert!(started.elapsed() < Duration::from_millis(250));
    let mut statuses = Vec::new();
    for holder in holders {
        statuses.push(holder.await.unwrap());
    }
    let held = statuses.iter().filter(|s| **s == 204).count();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert!(
        held >= 2 && refused >= 1 && held + refused == 10,
        "{statuses:?}"
    );
    let exposition = String::from_utf8_lossy(&app.get("/metrics").await.body).into_owned();
    assert!(metrics_line(
        &exposition,
        &[
            "function_rejections_total",
            "test-holder",
            "reason=\"pool_exhausted\""
        ]
    )
    .is_some());
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_after_the_pool_timeout_never_hangs() {
    const OTHER_HOLDER: Function = Function {
        name: "test-other-holder",
        path: "/test/hold-too",
        ..HOLDER
    };
    let app = Arc::new(
        TestApp::start_with(&[HOLDER, OTHER_HOLDER], |s| {
            s.pool_size = 3;
            s.shared_connections = 1;
            s.pool_timeout = Duration::from_millis(200);
        })
        .await,
    );
    // Three connections in all, and the two shares add up to four: once
    // three are held, the fourth caller is within its share but the pool
    // has nothing left.
    let first: Vec<_> = ["/test/hold", "/test/hold", "/test/hold-too"]
        .into_iter()
        .map(|path| {
            let app = app.clone();
            tokio::spawn(async move { app.get(path).await.status.as_u16() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = app.get("/test/hold-too").await;
    response.problem(503);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(started.elapsed() < Duration::from_secs(2));
    for call in first {
        assert_eq!(call.await.unwrap(), 204);
    }
}

#[tokio::test]
async fn functions_selects_a_subset_like_a_serverless_deployment() {
    let app = TestApp::start_with(runtime::registry::FUNCTIONS, |s| {
        s.functions = vec!["users-*".into(), "index".into()];
    })
    .await;
    app.get("/api/users/1").await.assert_status(200);
    app.get("/api/products/1").await.problem(404);
    // GET / shows the whole API (behind a gateway, other processes serve
    // the rest), while this process serves only its subset.
    let routes = app.get("/").await.json()["routes"].clone();
    let functions: Vec<_> = routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["function"].as_str().unwrap().to_owned())
        .collect();
    for name in ["users-orders", "products-get", "orders-create", "metrics"] {
        assert!(
            functions.contains(&name.to_owned()),
            "{name}: {functions:?}"
        );
    }

    let error = host::select(runtime::registry::FUNCTIONS, &["order-*".into()])
        .err()
        .unwrap();
    assert!(error.to_string().contains("matches no function"));
}
