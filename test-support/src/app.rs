//! A host serving some functions over a fresh database on a free port, and
//! the HTTP client and database helpers a test drives it with.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use contract::db::describe;
use contract::Function;
use host::config::Settings;
use http::{HeaderName, HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::cluster::{cluster, connect, fresh_database};
use crate::{pooler, TestResponse};

/// Settings for a test runtime: loopback, a free port, a small pool, and
/// the sample data the tests read by id (a template copy has it already;
/// an empty database, a private cluster's, gets it at start).
pub fn test_settings() -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        port: 0,
        pool_size: 10,
        shared_connections: 2,
        migrations: host::config::Migrations {
            sample_data: true,
            ..Default::default()
        },
        ..Settings::default()
    }
}

/// A runtime serving some functions over a fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub database_url: String,
    /// A direct connection to the test's database, for setup and checks.
    pub db: tokio_postgres::Client,
    pub running: Option<host::Running>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl TestApp {
    /// Serves `functions` with the test settings.
    pub async fn start(functions: &[Function]) -> TestApp {
        Self::start_with(functions, |_| {}).await
    }

    /// Serves `functions` with settings changed by `configure`.
    pub async fn start_with(
        functions: &[Function],
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        Self::start_on(fresh_database().await, functions, configure).await
    }

    /// Serves `functions` over the database at `database_url`.
    pub async fn start_on(
        database_url: String,
        functions: &[Function],
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        init_logs();
        let mut settings = test_settings();
        // TEST_POOLER=pgbouncer: the runtime goes through PgBouncer in
        // transaction mode; the test's own connection stays direct.
        let runtime_url = if pooler::enabled() {
            settings.db_statements = contract::db::Statements::Unnamed;
            let name = database_url.rsplit('/').next().unwrap_or_default();
            pooler::url_template(&cluster().url_template).replace("{db}", name)
        } else {
            database_url.clone()
        };
        configure(&mut settings);
        let running = host::start(settings, &runtime_url, functions)
            .await
            .unwrap_or_else(|error| panic!("starting the runtime: {error}"));
        let db = connect(&database_url)
            .await
            .expect("connecting to the test database");
        TestApp {
            addr: running.addr,
            database_url,
            db,
            running: Some(running),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The typed client (`shop-client`) of this app, for tests of the
    /// API's behaviour; [`TestApp::request`] is for HTTP-level detail.
    pub fn client(&self) -> shop_client::Client {
        shop_client::Client::new(&self.url(""))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[], None).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.request(Method::DELETE, path, &[], None).await
    }

    /// `method` with a JSON body.
    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> TestResponse {
        let body = serde_json::to_vec(body).expect("serialising a JSON body");
        self.request(
            method,
            path,
            &[("content-type", "application/json")],
            Some(body),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json(Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json(Method::PATCH, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json(Method::PUT, path, body).await
    }

    /// POST `body` as JSON, with extra `headers` (e.g. `Idempotency-Key`).
    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let body = serde_json::to_vec(body).expect("a JSON body");
        self.request(Method::POST, path, &all, Some(body)).await
    }

    /// The stock of `product` now.
    pub async fn stock(&self, product: i64) -> i64 {
        self.scalar(&format!(
            "SELECT stock_quantity::bigint FROM products WHERE id = {product}"
        ))
        .await
    }

    /// Any request, with raw headers and body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut request = http::Request::new(Full::new(Bytes::from(body.unwrap_or_default())));
        *request.method_mut() = method;
        *request.uri_mut() = self.url(path).parse().expect("a valid test URI");
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
        let response = self
            .client
            .request(request)
            .await
            .expect("the request was answered");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("the body was read").to_bytes();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// Runs SQL on the test's database and returns the rows.
    pub async fn sql(&self, query: &str) -> Vec<tokio_postgres::Row> {
        self.db
            .query(query, &[])
            .await
            .unwrap_or_else(|error| panic!("{query}: {}", describe(&error)))
    }

    /// One integer from a query, e.g. a count.
    pub async fn scalar(&self, query: &str) -> i64 {
        let rows = self.sql(query).await;
        rows.first()
            .and_then(|row| row.try_get::<_, i64>(0).ok())
            .unwrap_or_else(|| panic!("{query} returned no BIGINT"))
    }

    /// Writes `bytes` to a new connection and returns whatever the server
    /// answers before it closes the connection or `wait` passes.
    pub async fn raw(&self, bytes: &[u8], wait: Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connecting");
        // The server may answer and close before it has read everything.
        let _ = stream.write_all(bytes).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// The name of the test's database.
    pub fn database_name(&self) -> &str {
        self.database_url
            .rsplit('/')
            .next()
            .and_then(|tail| tail.split('?').next())
            .unwrap_or_default()
    }

    /// A connection to the cluster's `postgres` database, for what cannot
    /// be done from inside the test's own database.
    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&cluster().url_template.replace("{db}", "postgres"))
            .await
            .expect("connecting to the test cluster")
    }

    /// Stops the runtime gracefully.
    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// Logs from the runtime when `TEST_LOG` is set (e.g. `TEST_LOG=debug`).
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(level) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(level))
                .with_test_writer()
                .try_init();
        }
    });
}

/// A new product made through the API (a lamp: 12.50, 10 in stock): the
/// 201 that made it.
pub async fn create_product(app: &TestApp) -> TestResponse {
    let created = app
        .post(
            "/api/products",
            &json!({"name": "Lamp", "price": 12.5, "stock_quantity": 10}),
        )
        .await;
    created.assert_status(201);
    created
}

/// A new product made through the API ([`create_product`]): its id.
pub async fn product(app: &TestApp) -> i64 {
    create_product(app).await.json()["id"].as_i64().unwrap()
}
