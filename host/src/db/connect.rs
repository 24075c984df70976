//! A connection's settings from its URL, with TLS verified against the
//! public roots and `DATABASE_CA_FILE`; and a one-off connection outside
//! any pool.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::{DbError, PgConn};
use tokio_postgres::config::SslMode;
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

/// One connection to `url` outside any pool, its driver on a task of its
/// own (for applying the schema through a direct connection).
pub async fn connect_once(url: &str, ca_file: Option<&Path>) -> Result<PgConn, DbError> {
    let config = client_config(url)?;
    let (client, connection) = config
        .connect(tls_connector(ca_file)?)
        .await
        .map_err(|error| DbError::Connect(contract::db::describe(&error)))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(error = %contract::db::describe(&error), "a one-off connection ended");
        }
    });
    Ok(PgConn::new(client))
}

/// rustls with the public roots and, if given, the CAs in `ca_file` (a
/// managed database's own CA, or a self-signed server's certificate).
pub(crate) fn tls_connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, DbError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let unreadable = |error: &dyn std::fmt::Display| {
            DbError::Connect(format!("DATABASE_CA_FILE {}: {error}", path.display()))
        };
        let certificates = CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))?;
        for certificate in certificates {
            let certificate = certificate.map_err(|e| unreadable(&e))?;
            roots.add(certificate).map_err(|e| unreadable(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| DbError::Connect(format!("TLS: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The connection settings of `url`, with the runtime's own defaults.
pub(crate) fn client_config(url: &str) -> Result<Config, DbError> {
    let mut config: Config = url.parse().map_err(|error: tokio_postgres::Error| {
        DbError::Connect(format!("DATABASE_URL: {error}"))
    })?;
    // TLS when the URL asks for it (`sslmode=require`), verified; plain
    // otherwise. tokio-postgres' default, `prefer`, would try TLS and then
    // fail on a certificate nobody asked to trust.
    if config.get_ssl_mode() == SslMode::Prefer && !url.contains("sslmode=prefer") {
        config.ssl_mode(SslMode::Disable);
    }
    // A startup parameter, which poolers pass on per client (PgBouncer keeps
    // it for each client); it names us in pg_stat_activity.
    if config.get_application_name().is_none() {
        config.application_name(crate::config::identity::SERVICE_NAME);
    }
    Ok(config)
}

/// `attempt` again every half second until it succeeds or `patience` is
/// spent (then its last error): PostgreSQL may be starting beside us, as in
/// a Compose stack or a pod with its database. Each failure is logged.
pub(crate) async fn patiently<T, F, Fut>(patience: Duration, mut attempt: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let deadline = Instant::now() + patience;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() >= deadline => return Err(error),
            Err(error) => {
                tracing::info!(%error, "waiting for PostgreSQL");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
