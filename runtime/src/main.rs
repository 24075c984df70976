//! `runtime`: serves every registered function.
//!
//! With no `DATABASE_URL` it starts a local PostgreSQL from the installed
//! binaries (data in `EMBEDDED_PG_DIR`, `.data/postgres` by default) and
//! stops it on exit. `runtime healthcheck` probes a running instance's
//! `/health`, for container health checks without curl.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use runtime::config::{LogFormat, Settings};
use runtime::embedded::{ensure_database, EmbeddedOptions, EmbeddedPostgres};
use runtime::registry::FUNCTIONS;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return healthcheck();
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    // Panics go to the log like everything else, inside the request's span
    // so the line carries the request id; the guard adds the function.
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));

    let mut embedded = None;
    let database_url = match settings.database_url.as_ref() {
        Some(url) => url.expose().to_owned(),
        None => {
            let options = EmbeddedOptions {
                data_dir: settings.embedded_pg_dir.clone(),
                durable: true,
                port: None,
                settings: Vec::new(),
            };
            match EmbeddedPostgres::start(&options) {
                Ok(cluster) => {
                    tracing::info!(
                        data_dir = %cluster.data_dir().display(),
                        port = cluster.port(),
                        "no DATABASE_URL: started a local PostgreSQL"
                    );
                    let url = cluster.url("shop");
                    embedded = Some(cluster);
                    url
                }
                Err(error) => {
                    tracing::error!(%error, "no DATABASE_URL, and no local PostgreSQL could be started");
                    return ExitCode::FAILURE;
                }
            }
        }
    };

    let outcome = serve(settings, &database_url, embedded.as_ref());
    drop(embedded);
    match outcome {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "could not start");
            ExitCode::FAILURE
        }
    }
}

/// Serves until SIGTERM or Ctrl-C: on one multi-threaded tokio runtime, or
/// (`WORKERS=N`) on N single-threaded ones sharing the port, each with its
/// own share of the pool, so a request and its database connection stay on
/// one core.
fn serve(
    settings: Settings,
    database_url: &str,
    embedded: Option<&EmbeddedPostgres>,
) -> Result<(), String> {
    let workers = settings.workers;
    let control = if workers == 0 {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    if let Some(cluster) = embedded {
        control
            .block_on(ensure_database(&cluster.url("postgres"), "shop"))
            .map_err(|error| format!("creating the database `shop`: {error}"))?;
    }
    if workers == 0 {
        return control.block_on(async {
            let running = runtime::start(settings, database_url, FUNCTIONS)
                .await
                .map_err(|error| error.to_string())?;
            shutdown_signal().await;
            tracing::info!("shutting down: no new connections, finishing requests in flight");
            running.shutdown().await;
            Ok(())
        });
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (started, starts) = std::sync::mpsc::channel::<Result<(), String>>();
    let threads: Vec<_> = (0..workers)
        .map(|index| {
            let settings = settings.for_worker(workers);
            let database_url = database_url.to_owned();
            let mut stopped = stopped.clone();
            let started = started.clone();
            std::thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn(move || {
                    let worker = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    let worker = match worker {
                        Ok(worker) => worker,
                        Err(error) => {
                            let _ = started.send(Err(format!("worker {index}: {error}")));
                            return;
                        }
                    };
                    worker.block_on(async {
                        match runtime::start(settings, &database_url, FUNCTIONS).await {
                            Ok(running) => {
                                let _ = started.send(Ok(()));
                                let _ = stopped.wait_for(|stop| *stop).await;
                                running.shutdown().await;
                            }
                            Err(error) => {
                                let _ = started.send(Err(format!("worker {index}: {error}")));
                            }
                        }
                    });
                })
                .map_err(|error| format!("cannot start worker {index}: {error}"))
        })
        .collect::<Result<_, _>>()?;
    drop(started);
    let mut failure = None;
    for _ in 0..workers {
        match starts.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => failure = Some(error),
            Err(_) => failure = Some("a worker died while starting".to_owned()),
        }
        if failure.is_some() {
            break;
        }
    }
    if failure.is_none() {
        tracing::info!(workers, "all workers serving");
        control.block_on(shutdown_signal());
        tracing::info!("shutting down: no new connections, finishing requests in flight");
    }
    let _ = stop.send(true);
    for thread in threads {
        let _ = thread.join();
    }
    failure.map_or(Ok(()), Err)
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|error| {
        eprintln!(
            "LOG_LEVEL={:?} is not valid ({error}); using `info`",
            settings.log_level
        );
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the service");
            let _ = ctrl_c.await;
        }
    }
}

/// `GET /health` on this machine's PORT; exit 0 on 200.
fn healthcheck() -> ExitCode {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(5000);
    let probe = || -> std::io::Result<bool> {
        let timeout = Duration::from_secs(3);
        let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(&head[9..12] == b"200")
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unhealthy: /health did not answer 200");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}
