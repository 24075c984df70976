//! `runtime`: serves every registered function.
//!
//! With no `DATABASE_URL` it starts a local PostgreSQL from the installed
//! binaries (data in `EMBEDDED_PG_DIR`, `.data/postgres` by default) and
//! stops it on exit. `runtime migrate` applies `sql/` and exits (see
//! `host::db::migrate`). `runtime healthcheck` probes a running instance's
//! readiness (`/db-check`), for container health checks without curl; `runtime routes
//! [--format json]` prints the registry's routes, from which the split
//! deployments' routing is generated.

use std::process::ExitCode;

use host::config::{LogFormat, MigrateMode, Settings};
use host::embedded::{ensure_database, EmbeddedOptions, EmbeddedPostgres};
use runtime::cli::{self, Command};
use runtime::commands;
use runtime::registry::FUNCTIONS;
use runtime::signals::Signals;

/// A page of 50 products is some 400 small allocations (row buffers,
/// strings, the body growing); glibc's malloc spent 18% of the runtime's
/// CPU on them, mimalloc's thread-local free lists far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut migrate_only = false;
    match cli::parse(&args) {
        Ok(Command::Serve) => {}
        Ok(Command::Migrate) => migrate_only = true,
        Ok(Command::Help) => {
            print!("{}", cli::Usage);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!(
                "runtime {} (revision {})",
                env!("CARGO_PKG_VERSION"),
                host::REVISION
            );
            return ExitCode::SUCCESS;
        }
        Ok(Command::Healthcheck) => return commands::healthcheck(),
        Ok(Command::Routes { json }) => return commands::routes(json),
        Err(error) => {
            eprintln!("runtime: {error}; see runtime --help");
            return ExitCode::from(2);
        }
    }
    let mut settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    // Held to the end of main: dropping it writes out the lines still buffered.
    let _log = match init_tracing(&settings) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("the log's writer thread cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Panics go to the log like everything else, in the request's scope
    // (`host::request_log`) so the line carries the request id; the guard
    // adds the function.
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));

    let control = if settings.workers == 0 {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            // No task stays on one thread here, so no flusher: each thread
            // writes out its access lines when it goes idle.
            .on_thread_park(host::access_log::flush)
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let control = match control {
        Ok(control) => control,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    // From the first instant: as PID 1 in a container, a signal with no
    // handler does nothing, and `docker stop` would end in SIGKILL.
    let mut signals = match control.block_on(async { Signals::listen() }) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!(%error, "cannot listen for signals");
            return ExitCode::FAILURE;
        }
    };
    limit_connections(&mut settings);
    let migrate_only = migrate_only || settings.migrations.mode == MigrateMode::Only;
    if !migrate_only {
        host::policy::open_writes::warn_if_open(&settings);
    }

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

    if migrate_only {
        let outcome = runtime::migrate::run(
            &control,
            &mut signals,
            &settings,
            &database_url,
            embedded.as_ref(),
        );
        drop(embedded);
        return outcome;
    }
    let outcome = serve(
        &control,
        &mut signals,
        settings,
        &database_url,
        embedded.as_ref(),
    );
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

/// Raises the open-file limit and keeps `MAX_CONNECTIONS` under it, with
/// room for the pool's connections and the process's own descriptors: past
/// the limit, accept fails and so does every new database connection.
fn limit_connections(settings: &mut Settings) {
    let limit = match host::server::raise_fd_limit() {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit");
            return;
        }
    };
    let room = limit
        .saturating_sub(u64::from(settings.pool_size))
        .saturating_sub(host::server::RESERVED_FDS)
        .max(1);
    if settings.max_connections as u64 > room {
        tracing::warn!(
            max_connections = settings.max_connections,
            open_file_limit = limit,
            using = room,
            "MAX_CONNECTIONS is above what the open-file limit leaves after the pool; lowered"
        );
        settings.max_connections = room as usize;
    }
}

/// Serves until SIGTERM, SIGHUP or Ctrl-C: on one multi-threaded tokio
/// runtime, or (`WORKERS=N`) on N single-threaded ones sharing the port,
/// each with its own share of the pool, so a request and its database
/// connection stay on one core. A signal during start-up stops it there.
fn serve(
    control: &tokio::runtime::Runtime,
    signals: &mut Signals,
    mut settings: Settings,
    database_url: &str,
    embedded: Option<&EmbeddedPostgres>,
) -> Result<(), String> {
    let workers = settings.workers;
    if let Some(cluster) = embedded {
        control
            .block_on(ensure_database(&cluster.url("postgres"), "shop"))
            .map_err(|error| format!("creating the database `shop`: {error}"))?;
    }
    if workers == 0 {
        return control.block_on(async {
            let running = tokio::select! {
                running = host::start(settings, database_url, FUNCTIONS) => {
                    running.map_err(|error| error.to_string())?
                }
                signal = signals.recv() => {
                    tracing::info!(signal, "stopped while starting");
                    return Ok(());
                }
            };
            let signal = signals.recv().await;
            tracing::info!(
                signal,
                "shutting down: no new connections, finishing requests in flight"
            );
            running.shutdown().await;
            Ok(())
        });
    }

    // The workers' sockets share the port (SO_REUSEPORT), which would let
    // a second copy of the service join them and take half the requests.
    // Claiming the port first without that option fails while anyone
    // listens there, and settles `PORT=0` to one port for every worker.
    let claimed = control
        .block_on(host::claim_port(&settings.listen_addr()))
        .map_err(|error| error.to_string())?;
    settings.port = claimed.port();
    if let Some(metrics_addr) = settings.metrics_addr {
        let claimed = control
            .block_on(host::claim_port(&metrics_addr.to_string()))
            .map_err(|error| error.to_string())?;
        settings.metrics_addr = Some(claimed);
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (started, mut starts) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    // One set of rate limiters, tracer and connection balance for them
    // all, and one moment they start serving.
    let shared = host::Shared::for_workers(workers);
    let threads: Vec<_> = (0..workers)
        .map(|index| {
            let settings = settings.for_worker(workers);
            let shared = shared.clone();
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
                        // This thread's access lines go out within their age
                        // when requests stop coming.
                        tokio::spawn(host::access_log::flusher());
                        let running = tokio::select! {
                            running = host::start_worker(settings, shared, &database_url, FUNCTIONS) => running,
                            _ = stopped.wait_for(|stop| *stop) => return,
                        };
                        match running {
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
    let failure = control.block_on(async {
        for _ in 0..workers {
            tokio::select! {
                start = starts.recv() => match start {
                    Some(Ok(())) => {}
                    Some(Err(error)) => return Some(error),
                    None => return Some("a worker died while starting".to_owned()),
                },
                signal = signals.recv() => {
                    tracing::info!(signal, "stopped while starting");
                    return None;
                }
            }
        }
        tracing::info!(workers, "all workers serving");
        let signal = signals.recv().await;
        tracing::info!(
            signal,
            "shutting down: no new connections, finishing requests in flight"
        );
        None
    });
    let _ = stop.send(true);
    for thread in threads {
        let _ = thread.join();
    }
    failure.map_or(Ok(()), Err)
}

/// The log, on stderr. A log line, or a batch of access lines
/// (`host::access_log`), is handed to a thread of the log's own
/// (`host::log_queue`), which writes whatever has piled up with one
/// `write`: no system call and no lock of stderr per line on a worker. A
/// reader that stops reading costs dropped, counted messages once
/// [`LOG_QUEUE_BYTES`] are waiting, never a waiting request or growing
/// memory. The guard writes out the rest when main returns; a `SIGKILL`
/// loses what was queued and what the workers still held, at most the last
/// 100 ms of access lines.
fn init_tracing(settings: &Settings) -> std::io::Result<host::log_queue::WriterGuard> {
    use tracing_subscriber::EnvFilter;
    let (writer, guard) = host::log_queue::LogQueue::start(LOG_QUEUE_BYTES, std::io::stderr())?;
    // The access log's batches take the same way out, one message each.
    let batches = writer.clone();
    host::access_log::install(Box::new(move |batch| {
        batches.push(batch);
    }));
    let writer = move || writer.clone();
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|error| {
        eprintln!(
            "LOG_LEVEL={:?} is not valid ({error}); using `info`",
            settings.log_level
        );
        EnvFilter::new("info")
    });
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a person at a terminal, never in a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    // Lines logged inside a request name it (`host::request_log`).
    use host::request_log::RequestAware;
    match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .map_event_format(|format| RequestAware::new(format, LogFormat::Json))
            .init(),
        LogFormat::Text => builder
            .map_event_format(|format| RequestAware::new(format, LogFormat::Text))
            .init(),
    }
    Ok(guard)
}

/// The most bytes of log waiting for stderr's reader.
const LOG_QUEUE_BYTES: usize = 8 * 1024 * 1024;
