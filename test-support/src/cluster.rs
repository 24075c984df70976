//! The PostgreSQL the tests run against: one throwaway cluster per test
//! process (or the server `DATABASE_URL` names), a template database with
//! the schema and sample data, a fresh copy of it per test, and private
//! clusters for tests that stop and restart theirs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use contract::db::describe;
use contract::PgConn;
use host::embedded::{EmbeddedOptions, EmbeddedPostgres};

/// Where test databases are made.
pub(crate) struct Cluster {
    /// A URL of the cluster with `{db}` in place of the database name.
    pub(crate) url_template: String,
    template: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The admin URL of the test cluster, starting it on first use.
pub(crate) fn cluster() -> &'static Cluster {
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
    match EmbeddedPostgres::start(&options) {
        // It lives as long as this process; the kernel stops it when the
        // process ends, however it ends.
        Ok(cluster) => {
            let url = cluster.url("{db}");
            std::mem::forget(cluster);
            url
        }
        Err(error) => panic!("starting the test PostgreSQL: {error}"),
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
    // The schema, and the sample data the tests count on.
    let mut files = host::schema::FILES.to_vec();
    files.push(host::schema::SAMPLE_DATA);
    host::schema::apply_files(&conn, &files)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A new, empty database (no schema, no data): what a first deploy finds.
pub async fn empty_database() -> String {
    create_database("empty", "template0").await
}

/// A fresh database, copied from the template (schema and sample data).
pub async fn fresh_database() -> String {
    create_database("test", &cluster().template).await
}

/// A database of the test cluster named after `prefix`, a copy of `template`.
async fn create_database(prefix: &str, template: &str) -> String {
    let cluster = cluster();
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let admin = connect(&cluster.url_template.replace("{db}", "postgres"))
        .await
        .expect("connecting to the test cluster");
    let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
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
    /// Starts it; it stops when dropped.
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
