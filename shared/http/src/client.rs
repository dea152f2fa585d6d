//! Who is asking: the client's address for rate limits.
//!
//! Behind an ingress every connection comes from the proxy, so the peer address alone would put
//! every client in one bucket. `X-Forwarded-For` is believed only when the peer is one of the
//! configured trusted proxies (`TRUSTED_PROXIES`), and then it is read from the right: the first
//! address that is not itself a trusted proxy is the client (entries to its left were written
//! by the client and prove nothing). IPv6 clients are counted by their /64, the block one
//! subscriber usually holds, so rotating addresses inside it does not buy more attempts.

use std::net::{IpAddr, Ipv6Addr};

use http::HeaderMap;

/// One address or network (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u32::from(net) as u128,
                u32::from(ip) as u128,
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u8, prefix: u8) -> bool {
    let shift = (bits - prefix) as u32;
    shift >= 128 || (a >> shift) == (b >> shift)
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`; empty: none).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    pub fn parse(list: &[String]) -> Result<Self, String> {
        list.iter()
            .map(|s| Network::parse(s))
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// From `TRUSTED_PROXIES`, a comma-separated list of addresses and networks.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::parse(&gadai_kit::config::list("TRUSTED_PROXIES", &[]))
            .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request that arrived from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().parse::<IpAddr>().map(canonical))
            .collect::<Result<_, _>>()
            // A malformed header is not believed at all: the proxy is the client.
            .unwrap_or_default();
        hops.iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// The rate-limit key of a client address: the address itself for IPv4, its /64 for IPv6.
pub fn bucket(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(net))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        let n = Network::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.1.2.3")));
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(Network::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            Network::parse("127.0.0.1")
                .unwrap()
                .contains(ip("127.0.0.1"))
        );
        assert!(
            !Network::parse("127.0.0.1")
                .unwrap()
                .contains(ip("127.0.0.2"))
        );
        for bad in ["10.0.0.0/33", "fd00::/129", "proxy", "10.0.0.0/x", ""] {
            assert!(Network::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let h = headers(&["203.0.113.9"]);
        assert_eq!(none.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(proxies.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let proxies = trusted(&["10.0.0.0/8"]);
        // The client forged the first entry; our proxies appended the rest.
        let h = headers(&["1.2.3.4, 203.0.113.9", "10.0.0.7"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("203.0.113.9"));
        // Only proxies in the chain: the first entry.
        let h = headers(&["10.0.0.9, 10.0.0.7"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("10.0.0.9"));
        // No header, or a malformed one: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5")
        );
        let h = headers(&["not-an-ip, 203.0.113.9"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(bucket(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            bucket(ip("2001:db8:1:2:aaaa::1")),
            bucket(ip("2001:db8:1:2:ffff::9"))
        );
        assert_eq!(bucket(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(bucket(ip("192.0.2.1")), "192.0.2.1");
    }
}
