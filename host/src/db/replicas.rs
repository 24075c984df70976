//! Read replicas (`DATABASE_READ_URL`): single-statement reads spread over
//! the replicas in rotation; transactions, writes and fresh reads go to the
//! primary.
//!
//! A watcher asks each replica once a second whether it is still a replica
//! (`pg_is_in_recovery()`) and how far behind it is; one that is down,
//! promoted, or lagging past `DATABASE_READ_MAX_LAG_MS` leaves the rotation,
//! and reads fall back to the primary until it is back.
//!
//! Lag is measured against the primary, not the replica's own clock: each
//! second the watcher notes the primary's WAL position, and a replica's lag
//! is how long ago the primary reached the first noted position the replica
//! has not replayed yet (0 when it has replayed them all). The common
//! `now() - pg_last_xact_replay_timestamp()` reads as lag on an idle primary
//! and after a replica restarts, and as none while a replica that lost its
//! primary sits on what it last received.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use contract::db::{DbSource, ExclusiveLease, SharedLease};
use contract::DbError;
use futures_util::future::BoxFuture;
use metrics::{Counter, Gauge};
use tokio::sync::watch;

use crate::db::pool::Database;

pub const LAG: &str = "db_replica_lag_seconds";
pub const IN_ROTATION: &str = "db_replica_in_rotation";
pub const REMOVALS: &str = "db_replica_removals_total";
pub const FALLBACKS: &str = "db_replica_fallback_reads_total";

/// Where the primary's WAL is now, in bytes.
const PRIMARY_POSITION: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8";
/// How long a probe may take before its database counts as not answering
/// (a paused host, dropped packets, a socket that accepts and says nothing).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a replica still is one, and how far it has replayed, in bytes.
const REPLICA_POSITION: &str = "SELECT pg_is_in_recovery(),
    (coalesce(pg_last_wal_replay_lsn(), '0/0'::pg_lsn) - '0/0'::pg_lsn)::int8";

/// Why a replica left the rotation (a metric label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Removal {
    Down,
    Lagging,
    Promoted,
}

impl Removal {
    fn as_str(self) -> &'static str {
        match self {
            Removal::Down => "down",
            Removal::Lagging => "lagging",
            Removal::Promoted => "promoted",
        }
    }
}

/// One replica: its pool, and whether reads may go to it.
pub struct Replica {
    /// `1`, `2`, …: the order in `DATABASE_READ_URL` (a bounded label).
    label: String,
    database: Arc<Database>,
    in_rotation: AtomicBool,
    /// The primary's positions (when noted, where) this replica has not
    /// replayed yet, oldest first.
    behind: Mutex<VecDeque<(Instant, i64)>>,
    lag: Gauge,
    rotation: Gauge,
    /// The watcher's own connection, never lent to a read, so that reads
    /// using up the pool never look like a replica that does not answer.
    probe: tokio::sync::Mutex<Option<contract::PgConn>>,
    /// Tells the replica's connections it is out (`true`), so that reads
    /// waiting on them go to the primary ([`contract::db::Withdrawal`]).
    out: watch::Sender<bool>,
}

impl Replica {
    /// The replica `index` over `database`, whose connections were made
    /// with a withdrawal that listens to `out`.
    pub fn new(index: usize, database: Arc<Database>, out: watch::Sender<bool>) -> Replica {
        let label = (index + 1).to_string();
        let lag = metrics::gauge!(LAG, "replica" => label.clone());
        let rotation = metrics::gauge!(IN_ROTATION, "replica" => label.clone());
        for reason in [Removal::Down, Removal::Lagging, Removal::Promoted] {
            metrics::counter!(REMOVALS, "replica" => label.clone(), "reason" => reason.as_str())
                .absolute(0);
        }
        // In rotation until the first check says otherwise: the first
        // reads should not all land on the primary.
        rotation.set(1.0);
        Replica {
            label,
            database,
            in_rotation: AtomicBool::new(true),
            behind: Mutex::new(VecDeque::new()),
            lag,
            rotation,
            probe: tokio::sync::Mutex::new(None),
            out,
        }
    }

    /// One row of `sql` on the watcher's connection (opened on first use,
    /// and again after a failure), within [`PROBE_TIMEOUT`].
    async fn ask(&self, sql: &str) -> Result<tokio_postgres::Row, DbError> {
        let mut probe = self.probe.lock().await;
        let asked = tokio::time::timeout(PROBE_TIMEOUT, async {
            let conn = match probe.take() {
                Some(conn) if !conn.is_closed() => conn,
                _ => self.database.dedicated().await?,
            };
            let rows = conn.query_here(sql, &[]).await?;
            *probe = Some(conn);
            contract::db::exactly_one(rows)
        });
        // A probe given up on drops its connection: it may still be waiting.
        asked
            .await
            .unwrap_or(Err(DbError::PoolTimeout(PROBE_TIMEOUT)))
    }

    fn take_out(&self, reason: Removal) {
        if self.in_rotation.swap(false, Ordering::Relaxed) {
            tracing::warn!(replica = %self.label, reason = reason.as_str(), "replica out of rotation; its reads go to the primary");
            metrics::counter!(REMOVALS, "replica" => self.label.clone(), "reason" => reason.as_str())
                .increment(1);
            self.rotation.set(0.0);
            self.out.send_replace(true);
            self.database.reset_lanes();
        }
    }

    fn put_back(&self) {
        if !self.in_rotation.swap(true, Ordering::Relaxed) {
            tracing::info!(replica = %self.label, "replica back in rotation");
            self.out.send_replace(false);
            self.rotation.set(1.0);
        }
    }

    /// Asks the replica where it stands against `primary` (the primary's
    /// position just noted, if it answered), and puts it in or out of
    /// rotation.
    async fn check(&self, primary: Option<(Instant, i64)>, max_lag: Duration) {
        let row = match self.ask(REPLICA_POSITION).await {
            Ok(row) => row,
            Err(error) => {
                tracing::debug!(replica = %self.label, %error, "replica check failed");
                return self.take_out(Removal::Down);
            }
        };
        let (recovering, replayed) = match (row.try_get::<_, bool>(0), row.try_get::<_, i64>(1)) {
            (Ok(recovering), Ok(replayed)) => (recovering, replayed),
            _ => return self.take_out(Removal::Down),
        };
        if !recovering {
            self.lag.set(0.0);
            return self.take_out(Removal::Promoted);
        }
        let lag = {
            let mut behind = self.behind.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((noted, position)) = primary {
                if behind.back().is_none_or(|(_, last)| position > *last) {
                    behind.push_back((noted, position));
                }
            }
            while behind
                .front()
                .is_some_and(|(_, position)| *position <= replayed)
            {
                behind.pop_front();
            }
            behind
                .front()
                .map_or(Duration::ZERO, |(noted, _)| noted.elapsed())
        };
        self.lag.set(lag.as_secs_f64());
        if lag > max_lag {
            self.take_out(Removal::Lagging);
        } else {
            self.put_back();
        }
    }
}

/// The primary and the replicas, as the functions' database source.
pub struct Databases {
    primary: Arc<Database>,
    replicas: Vec<Replica>,
    next: AtomicUsize,
    fallbacks: Counter,
}

impl Databases {
    pub fn new(primary: Arc<Database>, replicas: Vec<Replica>) -> Databases {
        let fallbacks = metrics::counter!(FALLBACKS);
        fallbacks.absolute(0);
        Databases {
            primary,
            replicas,
            next: AtomicUsize::new(0),
            fallbacks,
        }
    }

    /// Checks every replica each second until `stop` resolves.
    pub async fn watch(
        self: Arc<Self>,
        max_lag: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        if self.replicas.is_empty() {
            return;
        }
        tokio::pin!(stop);
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = &mut stop => return,
            }
            let primary = tokio::time::timeout(PROBE_TIMEOUT, self.primary.probe(PRIMARY_POSITION));
            let primary = match primary.await {
                Ok(Ok(row)) => row.try_get::<_, i64>(0).ok().map(|at| (Instant::now(), at)),
                _ => None,
            };
            let checks = self
                .replicas
                .iter()
                .map(|replica| replica.check(primary, max_lag));
            futures_util::future::join_all(checks).await;
        }
    }

    /// The next replica in rotation, round-robin.
    fn pick(&self) -> Option<&Replica> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.replicas.len())
            .map(|offset| &self.replicas[(start + offset) % self.replicas.len()])
            .find(|replica| replica.in_rotation.load(Ordering::Relaxed))
    }
}

impl DbSource for Databases {
    fn shared(&self) -> BoxFuture<'_, Result<SharedLease, DbError>> {
        self.primary.shared()
    }

    fn exclusive(&self) -> BoxFuture<'_, Result<ExclusiveLease, DbError>> {
        self.primary.exclusive()
    }

    fn replica(&self) -> BoxFuture<'_, Result<SharedLease, DbError>> {
        Box::pin(async move {
            if self.replicas.is_empty() {
                return self.primary.shared().await;
            }
            if let Some(replica) = self.pick() {
                match replica.database.shared().await {
                    Ok(lease) => return Ok(lease),
                    // Busy, not gone: this read goes to the primary.
                    Err(DbError::PoolTimeout(_)) => {}
                    // Gone since the last check: out until it answers again.
                    Err(_) => replica.take_out(Removal::Down),
                }
            }
            self.fallbacks.increment(1);
            self.primary.shared().await
        })
    }

    fn isolated(&self) -> BoxFuture<'_, Result<ExclusiveLease, DbError>> {
        Box::pin(async move {
            if let Some(replica) = self.pick() {
                match replica.database.exclusive().await {
                    Ok(lease) => return Ok(lease),
                    Err(DbError::PoolTimeout(_)) => {}
                    Err(_) => replica.take_out(Removal::Down),
                }
            }
            if !self.replicas.is_empty() {
                self.fallbacks.increment(1);
            }
            self.primary.exclusive().await
        })
    }
}
