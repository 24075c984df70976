//! A real PgBouncer in transaction mode in front of the test cluster, for
//! `TEST_POOLER=pgbouncer`: every `TestApp` then reaches its database
//! through it, with `DB_STATEMENTS=unnamed`, so the contract suite proves
//! the runtime through the strictest pooler there is (1.18 has no support
//! for prepared statements in transaction mode). Started once per test
//! process, like the cluster, and stopped with it.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether tests go through the pooler.
pub fn enabled() -> bool {
    std::env::var("TEST_POOLER").is_ok_and(|value| value == "pgbouncer")
}

static POOLER: OnceLock<String> = OnceLock::new();

/// The pooler's URL template (`{db}` for the database), starting it on
/// first use in front of the cluster at `cluster_template`.
pub fn url_template(cluster_template: &str) -> &'static str {
    POOLER.get_or_init(|| start(cluster_template))
}

fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("pgbouncer"))
            .find(|candidate| candidate.is_file())
    });
    // Debian puts it in /usr/sbin, which a non-root PATH lacks.
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"))
}

fn start(cluster_template: &str) -> String {
    let cluster: tokio_postgres::Config = cluster_template
        .replace("{db}", "postgres")
        .parse()
        .expect("the cluster URL");
    let host = match cluster.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = cluster.get_ports().first().copied().unwrap_or(5432);
    let user = cluster.get_user().unwrap_or("postgres").to_owned();

    let dir = crate::cluster::clusters_root().join(format!("{}-pgbouncer", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the pooler's directory");
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = format!(
        "[databases]\n\
         * = host={host} port={port}\n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {listen}\n\
         unix_socket_dir =\n\
         auth_type = trust\n\
         auth_file = {dir}/users.txt\n\
         pool_mode = transaction\n\
         max_client_conn = 2000\n\
         default_pool_size = 20\n\
         server_login_retry = 1\n\
         logfile = {dir}/pgbouncer.log\n\
         pidfile = {dir}/pgbouncer.pid\n",
        dir = dir.display()
    );
    let write = |name: &str, text: &str| {
        let mut file = std::fs::File::create(dir.join(name)).expect("writing the pooler's files");
        file.write_all(text.as_bytes())
            .expect("writing the pooler's files");
    };
    write("pgbouncer.ini", &config);
    write("users.txt", &format!("\"{user}\" \"\"\n"));

    let (sender, receiver) = std::sync::mpsc::channel();
    let ini = dir.join("pgbouncer.ini");
    let owner = host::embedded::postgres_owner().expect("a postgres user to run PgBouncer as");
    if let Some((uid, gid)) = owner {
        for entry in ["", "pgbouncer.ini", "users.txt"] {
            let _ = std::os::unix::fs::chown(dir.join(entry), Some(uid), Some(gid));
        }
    }
    // The pooler is told to stop when the thread that started it ends: this
    // thread ends only with the process.
    std::thread::spawn(move || {
        let mut command = Command::new(binary());
        command
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = owner {
            // PgBouncer refuses to run as root.
            command.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; it asks the kernel to send
        // SIGTERM to the pooler when the thread that spawned it ends.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        match command.spawn() {
            Ok(_child) => {
                let _ = sender.send(Ok(()));
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = sender.send(Err(error.to_string()));
            }
        }
    });
    match receiver.recv() {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("starting pgbouncer ({}): {error}", binary().display()),
        Err(_) => panic!("the pgbouncer thread died"),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
        assert!(
            Instant::now() < deadline,
            "pgbouncer did not listen; see {}",
            dir.join("pgbouncer.log").display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    format!("postgres://{user}@127.0.0.1:{listen}/{{db}}")
}
