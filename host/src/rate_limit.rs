//! Rate limits per client (`RATE_LIMIT`, `rate:` in `FUNCTION_LIMITS`):
//! who the client is, how many calls it has left, and the 429 and
//! `RateLimit` / `RateLimit-Policy` headers (IETF httpapi draft) that say so.
//!
//! The algorithm is GCRA: one instant per client, the theoretical arrival
//! time (TAT) of its next call if it called at exactly the allowed rate. A
//! call is allowed while the TAT is less than one window ahead; each allowed
//! call pushes it one interval on. A client whose TAT has passed holds its
//! whole quota, just as a client never seen, so forgetting it changes
//! nothing: that is how the table stays bounded.
//!
//! One [`Limiter`] per policy serves every worker of the process, so a
//! client gets the quota once, however many workers the kernel spreads its
//! connections over.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use contract::{Problem, Rejection};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use ipnet::IpNet;

use crate::auth::KeyId;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// `100/s`: so many calls per window, in a burst at most that many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub quota: u32,
    pub window: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(value: &str) -> Result<Rate, String> {
        let (count, unit) = value
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{value}` should be count/unit, e.g. 100/s or 6000/m"))?;
        let quota: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|quota| *quota > 0)
            .ok_or_else(|| format!("`{count}` in `{value}` is not a positive integer"))?;
        let window = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => return Err(format!("`{other}` in `{value}` is not s, m or h")),
        };
        Ok(Rate { quota, window })
    }
}

/// Who a limit counts: the API key presented, else the client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Key(KeyId),
    Addr(IpAddr),
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated addresses or CIDR blocks.
    pub fn parse(value: &str) -> Result<TrustedProxies, String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{item}` is not an IP address or CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy; then the rightmost forwarded address that is not one (the
    /// ones left of it could be anything the client wrote).
    pub fn client_addr(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|item| item.trim().parse::<IpAddr>().ok())
            .map(|addr| addr.to_canonical())
            .collect();
        forwarded
            .iter()
            .rev()
            .find(|addr| !self.trusts(**addr))
            .or(forwarded.first())
            .copied()
            .unwrap_or(peer)
    }
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
/// Clients remembered per shard before the ones at full quota are dropped.
const SHARD_CAPACITY: usize = 4096;

/// One policy's clients.
pub struct Limiter {
    name: String,
    rate: Rate,
    /// Nanoseconds a call uses up: the window over the quota.
    interval: u64,
    epoch: Instant,
    hasher: RandomState,
    shards: Box<[Mutex<HashMap<Client, u64>>]>,
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
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
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
        let tat = shard.get(&client).copied().unwrap_or(now).max(now);
        let next = tat + self.interval;
        let allowed = next - now <= window;
        if allowed {
            if shard.len() >= SHARD_CAPACITY && !shard.contains_key(&client) {
                shard.retain(|_, tat| *tat > now);
            }
            shard.insert(client, next);
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

    fn shard(&self, client: &Client) -> MutexGuard<'_, HashMap<Client, u64>> {
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
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            X_FORWARDED_FOR.clone(),
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.1.2.3"),
        );
        let via_proxy: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let direct: SocketAddr = "198.51.100.7:4000".parse().unwrap();
        assert_eq!(
            proxies.client_addr(via_proxy, &headers),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            proxies.client_addr(direct, &headers),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            TrustedProxies::default().client_addr(via_proxy, &headers),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
