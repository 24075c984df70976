//! Who a client is by its address, for the rate limits: the peer's, or,
//! behind a trusted proxy (`TRUSTED_PROXIES`), the address the proxies
//! forwarded; an IPv6 client counted by its network prefix
//! (`RATE_LIMIT_IPV6_PREFIX`, /64 by default), since one host is handed a
//! whole /64 and could otherwise take a new address for every call.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::header::HeaderName;
use http::HeaderMap;

pub use crate::config::TrustedProxies;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

impl TrustedProxies {
    fn trusts(&self, addr: IpAddr) -> bool {
        self.networks().iter().any(|net| net.contains(&addr))
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy; then, walking `X-Forwarded-For` from the right (the entries
    /// the nearest proxies wrote), the first address that is not a trusted
    /// proxy. An entry that is no address (`unknown`, garbage) ends the
    /// walk at the proxy that passed it on: what lies left of it could be
    /// anything the client wrote.
    pub fn client_addr(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut nearest = peer.ip().to_canonical();
        if !self.trusts(nearest) {
            return nearest;
        }
        let lines: Vec<&[u8]> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .map(|value| value.as_bytes())
            .collect();
        // Entry by entry, so that a byte that is not text in one entry
        // spoils that entry alone, never the address a proxy appended.
        let entries = lines
            .iter()
            .rev()
            .flat_map(|line| line.rsplit(|b| *b == b','));
        for entry in entries {
            let Some(addr) = std::str::from_utf8(entry).ok().and_then(forwarded) else {
                return nearest;
            };
            if !self.trusts(addr) {
                return addr;
            }
            nearest = addr;
        }
        nearest
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port, IPv6
/// in brackets or not.
fn forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    let addr = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        })?;
    Some(addr.to_canonical())
}

/// `addr` as a rate limit counts it: an IPv4 address as it is, an IPv6
/// one by its first `v6_prefix` bits.
pub fn counted(addr: IpAddr, v6_prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let bits = u32::from(v6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn behind_proxy(forwarded: &[&'static str]) -> IpAddr {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let mut headers = HeaderMap::new();
        for line in forwarded {
            headers.append(X_FORWARDED_FOR.clone(), HeaderValue::from_static(line));
        }
        proxies.client_addr("127.0.0.1:4000".parse().unwrap(), &headers)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        assert_eq!(
            behind_proxy(&["6.6.6.6, 203.0.113.9, 10.1.2.3"]),
            ip("203.0.113.9")
        );
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(X_FORWARDED_FOR.clone(), HeaderValue::from_static("6.6.6.6"));
        let direct: SocketAddr = "198.51.100.7:4000".parse().unwrap();
        assert_eq!(proxies.client_addr(direct, &headers), ip("198.51.100.7"));
        let via_proxy: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            TrustedProxies::default().client_addr(via_proxy, &headers),
            ip("127.0.0.1")
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn ports_and_brackets_are_read_and_garbage_stops_at_the_proxy() {
        // What the proxy wrote is read whatever its format.
        assert_eq!(
            behind_proxy(&["6.6.6.6, 203.0.113.10:4711"]),
            ip("203.0.113.10")
        );
        assert_eq!(
            behind_proxy(&["6.6.6.6, [2001:db8::10]:443"]),
            ip("2001:db8::10")
        );
        assert_eq!(
            behind_proxy(&["6.6.6.6, [2001:db8::11]"]),
            ip("2001:db8::11")
        );
        assert_eq!(behind_proxy(&["6.6.6.6, 2001:db8::12"]), ip("2001:db8::12"));
        // An entry that is no address: the proxy is the client, never the
        // attacker-written entry left of it.
        assert_eq!(behind_proxy(&["6.6.6.6, unknown"]), ip("127.0.0.1"));
        assert_eq!(
            behind_proxy(&["6.6.6.6, unknown, 10.0.0.5"]),
            ip("10.0.0.5")
        );
        // Lines are read right to left, the last line first.
        assert_eq!(behind_proxy(&["6.6.6.6", "203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(behind_proxy(&["6.6.6.6", "garbage"]), ip("127.0.0.1"));
        // A byte that is not text left of the proxy's entry spoils nothing.
        let mut headers = HeaderMap::new();
        let line = HeaderValue::from_bytes(b"6.6.6.\xff, 203.0.113.8").unwrap();
        headers.append(X_FORWARDED_FOR.clone(), line);
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let client = proxies.client_addr("127.0.0.1:4000".parse().unwrap(), &headers);
        assert_eq!(client, ip("203.0.113.8"));
        // Only proxies: the farthest of them.
        assert_eq!(behind_proxy(&["10.0.0.9, 10.0.0.8"]), ip("10.0.0.9"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_prefix() {
        assert_eq!(
            counted(ip("2001:db8:1:2:aaaa::1"), 64),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            counted(ip("2001:db8:1:2:aaaa::1"), 128),
            ip("2001:db8:1:2:aaaa::1")
        );
        assert_eq!(counted(ip("2001:db8:1:2:aaaa::1"), 0), ip("::"));
        assert_eq!(counted(ip("203.0.113.1"), 64), ip("203.0.113.1"));
    }
}
