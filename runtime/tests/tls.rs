//! TLS to PostgreSQL when the URL asks for it (`sslmode=require`), with the
//! server's certificate verified against the public roots and
//! `DATABASE_CA_FILE`.
//!
//! Requests built by hand, not through the typed client (`shop-client`):
//! one read proves the TLS connection; the request is incidental.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use host::pool::{Database, PoolOptions};
use test_support::{PrivateCluster, TestApp};

fn openssl(dir: &Path, args: &[&str]) {
    let made = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        made.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// A test CA, and a server certificate for 127.0.0.1 it signed, readable
/// by PostgreSQL: (CA certificate, server certificate, server key).
fn certificates(dir: &Path) -> (String, String, String) {
    let days = ["-days", "2"];
    openssl(
        dir,
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=shop test CA",
            ][..],
            &days,
            &["-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
            ][..],
            &days,
            &["-extfile", "server.ext", "-out", "server.crt"],
        ]
        .concat(),
    );
    let (ca, cert, key) = (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&cert, std::fs::Permissions::from_mode(0o644)).unwrap();
    // SAFETY: geteuid cannot fail; as root, PostgreSQL runs as `postgres`
    // and insists on owning its key.
    if unsafe { libc::geteuid() } == 0 {
        let chown = Command::new("chown")
            .arg("postgres")
            .arg(&key)
            .status()
            .unwrap();
        assert!(chown.success());
    }
    let path = |p: &Path| p.display().to_string();
    (path(&ca), path(&cert), path(&key))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_connects_over_verified_tls() {
    let dir = std::env::temp_dir().join(format!("shop-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = certificates(&dir);
    let cluster = PrivateCluster::start_with(vec![
        ("ssl".into(), "on".into()),
        ("ssl_cert_file".into(), cert),
        ("ssl_key_file".into(), key),
    ]);
    let url = format!("{}?sslmode=require", cluster.url());

    // An untrusted certificate is refused, not silently accepted.
    let options = |ca_file: Option<&str>| PoolOptions {
        size: 2,
        shared: 1,
        timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(5),
        ca_file: ca_file.map(Into::into),
        statements: contract::db::Statements::Prepared,
        report: false,
        withdrawal: None,
    };
    let untrusted = Database::new(&url, options(None)).unwrap();
    let error = untrusted
        .dedicated()
        .await
        .err()
        .expect("an untrusted certificate was accepted");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );

    let app = TestApp::start_on(url, &[users_get::FUNCTION], |s| {
        s.database_ca_file = Some(ca.into());
    })
    .await;
    app.get("/api/users/1").await.assert_status(200);
    // The test's own connection is plain; the runtime's are encrypted.
    let encrypted = app
        .scalar("SELECT count(*) FROM pg_stat_ssl WHERE ssl")
        .await;
    assert!(encrypted >= 1, "no TLS connection from the runtime");
    drop(app);
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
}
