//! Test support: every test talks HTTP to a real runtime over a real
//! PostgreSQL, never a mock.
//!
//! One throwaway cluster per test process, started from the installed
//! PostgreSQL binaries (or the server `DATABASE_URL` names, as in GitHub
//! Actions' service container). The schema and sample data are applied once
//! to a template database; each test gets a fresh copy of it, and a runtime
//! serving the functions it names on a free port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use contract::db::describe;
use contract::{Function, PgConn};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use runtime::config::Settings;
use runtime::embedded::{EmbeddedOptions, EmbeddedPostgres};
use serde_json::Value;

pub mod pooler;
pub mod replica;

pub use runtime;
pub use serde_json::json;

/// Where test databases are made.
struct Cluster {
    /// A URL of the cluster with `{db}` in place of the database name.
    url_template: String,
    template: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The admin URL of the test cluster, starting it on first use.
fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let url_template = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => with_database(&url, "{db}"),
            _ => start_throwaway_cluster(),
        };
        let template = format!("test_template_{}", std::process::id());
        // The template is built on a runtime of its own: each test has its
        // own tokio runtime, and this one outlives none of them.
        let build = std::thread::spawn({
            let url_template = url_template.clone();
            let template = template.clone();
            move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the template")
                    .block_on(build_template(&url_template, &template))
            }
        });
        match build.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("building the template database: {error:?}"),
            Err(_) => panic!("building the template database panicked"),
        }
        Cluster {
            url_template,
            template,
        }
    })
}

/// Where test clusters keep their data, open to the `postgres` user.
pub(crate) fn clusters_root() -> std::path::PathBuf {
    let root = std::env::temp_dir().join("shop-test-clusters");
    let _ = std::fs::create_dir_all(&root);
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1777));
    root
}

/// Starts a cluster that lives as long as this process, in a temporary
/// directory; clusters left by earlier processes are removed.
fn start_throwaway_cluster() -> String {
    let root = clusters_root();
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            // Directories are named after the process that made them.
            let alive = entry
                .file_name()
                .to_str()
                .and_then(|name| name.split('-').next()?.parse::<u32>().ok())
                .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let options = EmbeddedOptions {
        data_dir: clusters_root().join(std::process::id().to_string()),
        durable: false,
        port: None,
        settings: Vec::new(),
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    // PostgreSQL is told to stop when the thread that started it ends: this
    // thread ends only with the process.
    std::thread::spawn(move || match EmbeddedPostgres::start(&options) {
        Ok(cluster) => {
            let _ = sender.send(Ok(cluster.url("{db}")));
            loop {
                std::thread::park();
            }
        }
        Err(error) => {
            let _ = sender.send(Err(error.to_string()));
        }
    });
    match receiver.recv() {
        Ok(Ok(url)) => url,
        Ok(Err(error)) => panic!("starting the test PostgreSQL: {error}"),
        Err(_) => panic!("the test PostgreSQL thread died"),
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(slash) => &head[..authority_start + slash],
        None => head,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A plain connection to `url`, its driver running in the background.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    // The tests' own connections are plain, whatever the runtime is told.
    let url = url.replace("sslmode=require", "sslmode=disable");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn build_template(url_template: &str, template: &str) -> Result<(), String> {
    let admin = connect(&url_template.replace("{db}", "postgres"))
        .await
        .map_err(|e| describe(&e))?;
    for statement in [
        format!("DROP DATABASE IF EXISTS {template}"),
        format!("CREATE DATABASE {template}"),
    ] {
        admin
            .batch_execute(&statement)
            .await
            .map_err(|e| describe(&e))?;
    }
    let conn = PgConn::new(
        connect(&url_template.replace("{db}", template))
            .await
            .map_err(|e| describe(&e))?,
    );
    runtime::schema::apply(&conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A fresh database, copied from the template (schema and sample data).
pub async fn fresh_database() -> String {
    let cluster = cluster();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let admin = connect(&cluster.url_template.replace("{db}", "postgres"))
        .await
        .expect("connecting to the test cluster");
    let create = format!("CREATE DATABASE {name} TEMPLATE {}", cluster.template);
    let mut attempts = 0;
    // Copies of one template may not overlap; retry the rare collision.
    while let Err(error) = admin.batch_execute(&create).await {
        attempts += 1;
        assert!(attempts < 50, "creating {name}: {}", describe(&error));
        tokio::time::sleep(Duration::from_millis(20 * attempts)).await;
    }
    cluster.url_template.replace("{db}", &name)
}

/// A cluster of one test's own, which the test may stop and restart
/// (the shared cluster must never go down under other tests).
pub struct PrivateCluster {
    pub postgres: EmbeddedPostgres,
}

impl PrivateCluster {
    /// Starts it; call from the test's own thread (PostgreSQL is stopped
    /// when the thread that started it ends).
    pub fn start() -> PrivateCluster {
        Self::start_with(Vec::new())
    }

    /// Starts it with extra server settings (`-c name=value`).
    pub fn start_with(settings: Vec<(String, String)>) -> PrivateCluster {
        static PRIVATE: AtomicU32 = AtomicU32::new(0);
        let options = EmbeddedOptions {
            data_dir: clusters_root().join(format!(
                "{}-private-{}",
                std::process::id(),
                PRIVATE.fetch_add(1, Ordering::Relaxed)
            )),
            durable: true,
            port: None,
            settings,
        };
        let postgres = EmbeddedPostgres::start(&options)
            .unwrap_or_else(|error| panic!("starting a private PostgreSQL: {error}"));
        PrivateCluster { postgres }
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        self.postgres.url("postgres")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.postgres.stop();
        let _ = std::fs::remove_dir_all(self.postgres.data_dir());
    }
}

/// Settings for a test runtime: loopback, a free port, a small pool.
pub fn test_settings() -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        port: 0,
        pool_size: 10,
        shared_connections: 2,
        ..Settings::default()
    }
}

/// A runtime serving some functions over a fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub database_url: String,
    /// A direct connection to the test's database, for setup and checks.
    pub db: tokio_postgres::Client,
    pub running: Option<runtime::Running>,
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
        let running = runtime::start(settings, &runtime_url, functions)
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

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &TestResponse {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, expected: u16) -> Value {
        self.assert_status(expected);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], expected, "{body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        assert_eq!(body["type"], "about:blank");
        body
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

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/shop", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/shop?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
    }
}
