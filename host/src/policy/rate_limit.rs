//! Rate limits per client (`RATE_LIMIT`, `rate:` in `FUNCTION_LIMITS`):
//! who the client is, how many calls it has left, and the 429 and
//! `RateLimit` / `RateLimit-Policy` headers (IETF httpapi draft) that say so.
//!
//! The algorithm is GCRA: one instant per client, the theoretical arrival
//! time (TAT) of its next call if it called at exactly the allowed rate. A
//! call is allowed while the TAT is less than one window ahead; each allowed
//! call pushes it one interval on. A client whose TAT has passed holds its
//! whole quota, just as a client never seen, so forgetting it changes
//! nothing. The table is bounded ([`SHARD_CAPACITY`] clients a shard): a
//! full shard sweeps out the clients at full quota at most every
//! [`SWEEP_EVERY`], and when none are, forgets the client nearest to full
//! quota among a few, so a flood of new clients costs each a constant
//! amount, never a scan, and memory stays put.
//!
//! One [`Limiter`] per policy serves every worker of the process, so a
//! client gets the quota once, however many workers the kernel spreads its
//! connections over.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use contract::{Problem, Rejection};
use http::header::{HeaderName, HeaderValue};
use http::StatusCode;

pub use crate::config::{Rate, TrustedProxies};
use crate::policy::auth::KeyId;

static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Who a limit counts: the API key presented, else the client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Key(KeyId),
    Addr(IpAddr),
}

/// What one call was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Calls left in the window after this one.
    pub remaining: u32,
    /// Seconds until the whole quota is back (the `t` of `RateLimit`).
    pub reset_secs: u64,
    /// Seconds until the next call would be allowed, when this one was not.
    pub retry_after_secs: u64,
}

const SHARDS: usize = 16;
/// Clients remembered per shard.
pub const SHARD_CAPACITY: usize = 4096;
/// How often a full shard may sweep itself, in nanoseconds.
const SWEEP_EVERY: u64 = 100_000_000;
/// How many clients a full shard looks at to choose one to forget.
const EVICTION_SAMPLE: usize = 8;

/// One shard's clients: each one's TAT, in nanoseconds since `epoch`.
#[derive(Default)]
struct Shard {
    clients: HashMap<Client, u64>,
    next_sweep: u64,
}

impl Shard {
    /// Room for a client not in the table yet.
    fn make_room(&mut self, now: u64) {
        if self.clients.len() < SHARD_CAPACITY {
            return;
        }
        if now >= self.next_sweep {
            self.clients.retain(|_, tat| *tat > now);
            self.next_sweep = now + SWEEP_EVERY;
        }
        if self.clients.len() < SHARD_CAPACITY {
            return;
        }
        // Nobody is at full quota: forget the one nearest to it of a few
        // (the map's order is its hasher's, random to a client). It gets its
        // quota back early; a client with that many addresses has more
        // quota than that already.
        let nearest = self
            .clients
            .iter()
            .take(EVICTION_SAMPLE)
            .min_by_key(|(_, tat)| **tat)
            .map(|(client, _)| *client);
        if let Some(client) = nearest {
            self.clients.remove(&client);
            metrics::counter!(EVICTIONS).increment(1);
        }
    }
}

/// Clients forgotten before their quota was whole, to make room.
pub const EVICTIONS: &str = "rate_limit_clients_evicted_total";

/// One policy's clients.
pub struct Limiter {
    name: String,
    rate: Rate,
    /// Nanoseconds a call uses up: the window over the quota.
    interval: u64,
    epoch: Instant,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
    policy_header: HeaderValue,
}

impl Limiter {
    pub fn new(name: &str, rate: Rate) -> Limiter {
        let window = rate.window.as_nanos() as u64;
        let policy = format!("\"{name}\";q={};w={}", rate.quota, rate.window.as_secs());
        Limiter {
            name: name.to_owned(),
            rate,
            interval: (window / u64::from(rate.quota)).max(1),
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            policy_header: HeaderValue::try_from(policy)
                .unwrap_or(HeaderValue::from_static("\"default\"")),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes one call from `client`'s quota, if it has one left.
    pub fn check(&self, client: Client) -> Decision {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.check_at(client, now)
    }

    fn check_at(&self, client: Client, now: u64) -> Decision {
        let window = self.rate.window.as_nanos() as u64;
        let mut shard = self.shard(&client);
        let known = shard.clients.get(&client).copied();
        let tat = known.unwrap_or(now).max(now);
        let next = tat + self.interval;
        let allowed = next - now <= window;
        if allowed {
            if known.is_none() {
                shard.make_room(now);
            }
            shard.clients.insert(client, next);
        }
        let ahead = if allowed { next - now } else { tat - now };
        let remaining = ((window - ahead.min(window)) / self.interval) as u32;
        Decision {
            allowed,
            remaining: remaining.min(self.rate.quota),
            reset_secs: ceil_secs(ahead),
            retry_after_secs: if allowed {
                0
            } else {
                ceil_secs(next - now - window).max(1)
            },
        }
    }

    fn shard(&self, client: &Client) -> MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(client) as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `RateLimit-Policy` and `RateLimit` for a call that was told `decision`.
    pub fn headers(&self, decision: &Decision) -> [(HeaderName, HeaderValue); 2] {
        let state = format!(
            "\"{}\";r={};t={}",
            self.name, decision.remaining, decision.reset_secs
        );
        [
            (RATELIMIT_POLICY.clone(), self.policy_header.clone()),
            (
                RATELIMIT.clone(),
                HeaderValue::try_from(state).unwrap_or(HeaderValue::from_static("\"default\"")),
            ),
        ]
    }

    /// The 429 for a call that was refused.
    pub fn refusal(&self, decision: &Decision) -> Problem {
        Problem {
            retry_after: Some(u32::try_from(decision.retry_after_secs).unwrap_or(u32::MAX)),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "this client has used its {} calls per {} s; retry in {} s",
                    self.rate.quota,
                    self.rate.window.as_secs(),
                    decision.retry_after_secs
                ),
            )
        }
        .with_rejection(Rejection::RateLimit)
    }
}

fn ceil_secs(nanos: u64) -> u64 {
    nanos.div_ceil(1_000_000_000)
}

/// The process's limiters by policy name, shared by every worker.
#[derive(Clone, Default)]
pub struct Limiters(Arc<Mutex<HashMap<String, Arc<Limiter>>>>);

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

impl Limiters {
    /// The limiter of policy `name`, made on first use. A worker starting
    /// later gets the one the first made, with its clients' state.
    pub fn get(&self, name: &str, rate: Rate) -> Arc<Limiter> {
        let mut limiters = self.0.lock().unwrap_or_else(|p| p.into_inner());
        limiters
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Limiter::new(name, rate)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn rates_are_parsed() {
        assert_eq!(
            "100/s".parse::<Rate>().unwrap(),
            Rate {
                quota: 100,
                window: Duration::from_secs(1)
            }
        );
        assert_eq!("6000/m".parse::<Rate>().unwrap().window.as_secs(), 60);
        for bad in ["100", "0/s", "-1/s", "10/d", "x/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_burst_of_the_quota_then_one_per_interval() {
        let limiter = Limiter::new("default", "4/s".parse().unwrap());
        let client = Client::Addr("127.0.0.1".parse().unwrap());
        let start = 10 * SECOND;
        let remaining: Vec<u32> = (0..4)
            .map(|_| limiter.check_at(client, start))
            .inspect(|d| assert!(d.allowed))
            .map(|d| d.remaining)
            .collect();
        assert_eq!(remaining, [3, 2, 1, 0]);
        let refused = limiter.check_at(client, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.reset_secs, 1);
        // A quarter second later, one call is back; another client is untouched.
        assert!(limiter.check_at(client, start + SECOND / 4).allowed);
        assert!(!limiter.check_at(client, start + SECOND / 4).allowed);
        let other = Client::Addr("127.0.0.2".parse().unwrap());
        assert_eq!(limiter.check_at(other, start).remaining, 3);
        // After a whole window, the whole quota.
        assert_eq!(limiter.check_at(client, start + 2 * SECOND).remaining, 3);
    }

    #[test]
    fn a_flood_of_new_clients_stays_within_the_table() {
        let limiter = Limiter::new("default", "10/m".parse().unwrap());
        let now = 10 * SECOND;
        // Every client calls once and keeps a TAT in the future: nobody is
        // at full quota to sweep out, so room is made by forgetting.
        for n in 0..(SHARDS * SHARD_CAPACITY * 3) as u32 {
            let client = Client::Addr(IpAddr::from(n.to_be_bytes()));
            assert!(limiter.check_at(client, now + u64::from(n)).allowed);
        }
        let held: usize = limiter
            .shards
            .iter()
            .map(|shard| shard.lock().unwrap().clients.len())
            .sum();
        assert!(held <= SHARDS * SHARD_CAPACITY, "{held} clients held");
        // A client still in the table keeps its count.
        let client = Client::Addr(IpAddr::from([255, 255, 255, 255]));
        let later = now + 4 * SECOND * 60;
        for expected in (0..10).rev() {
            assert_eq!(limiter.check_at(client, later).remaining, expected);
        }
        assert!(!limiter.check_at(client, later).allowed);
    }
}
