//! Which address a request comes from: the one rule every per-address
//! budget (rate limits, log-in failures, open streams) goes by.
//!
//! The peer of the connection is the client, unless it is one of the
//! operator's proxies (`RESOURCIFY_TRUSTED_PROXIES`): only then is
//! `X-Forwarded-For` believed, because anyone else could write a fresh
//! address into it on every request and never run out of budget.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
use poem::http::HeaderName;
use poem::{FromRequest, Request, RequestBody};

use crate::RateLimits;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// An address or a network (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`) whose
/// requests come from one of the operator's proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(IpNet);

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        raw.parse::<IpNet>()
            .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
            .map(|net| Self(net.trunc()))
            .map_err(|_| format!("{raw:?} is neither an IP address nor a network (10.0.0.0/8)"))
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The operator's proxies; none by default, so that forwarded headers are
/// ignored unless the operator says who writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<TrustedProxy>);

impl From<Vec<TrustedProxy>> for TrustedProxies {
    fn from(proxies: Vec<TrustedProxy>) -> Self {
        Self(proxies)
    }
}

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|proxy| proxy.0.contains(&address))
    }

    /// The client of `request`: its peer, or, when the peer is a trusted
    /// proxy, the right-most address in `X-Forwarded-For` that no trusted
    /// proxy wrote. Entries left of that one were written by the client
    /// and prove nothing. `None` only for a peer without an IP address.
    pub fn client_of(&self, request: &Request) -> Option<IpAddr> {
        let peer = request.remote_addr().as_socket_addr()?.ip();
        // Several `X-Forwarded-For` lines are one list, in order (RFC 9110
        // § 5.3).
        let forwarded = request
            .headers()
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|line| line.to_str().ok())
            .flat_map(|line| line.split(','));
        Some(self.client_from(peer, forwarded))
    }

    fn client_from<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        // An IPv4 peer of a dual-stack listener arrives as `::ffff:a.b.c.d`.
        let peer = peer.to_canonical();
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        // Read from the end, where our proxies wrote.
        let forwarded: Vec<&str> = forwarded.collect();
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            // Something no proxy of ours writes: the list is not to be
            // believed from here on, and the last proxy is the client.
            let Ok(hop) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = hop.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The address a request comes from, for handlers with per-address
/// budgets of their own (log-in failures, open streams). `None` only for a
/// peer without an IP address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub(crate) Option<IpAddr>);

impl<'a> FromRequest<'a> for ClientAddress {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        // The node's rate limits hold the trusted proxies; without them no
        // proxy is trusted, and the peer is the client.
        let client = match request.data::<Arc<RateLimits>>() {
            Some(limits) => limits.trusted_proxies().client_of(request),
            None => TrustedProxies::default().client_of(request),
        };
        Ok(Self(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies(list.iter().map(|p| p.parse().unwrap()).collect())
    }

    fn client(proxies: &TrustedProxies, peer: &str, forwarded: &[&str]) -> String {
        let forwarded = forwarded.iter().flat_map(|line| line.split(','));
        let peer = peer.trim_matches(['[', ']']).parse().unwrap();
        proxies.client_from(peer, forwarded).to_string()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(client(&none, "203.0.113.9", &["192.0.2.1"]), "203.0.113.9");
        let other = proxies(&["10.0.0.0/8"]);
        assert_eq!(client(&other, "203.0.113.9", &["192.0.2.1"]), "203.0.113.9");
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() {
        let ours = proxies(&["10.0.0.0/8", "192.168.1.1"]);
        // The client wrote 198.51.100.1 itself; our proxies appended the rest.
        let chain = ["198.51.100.1, 203.0.113.9", "192.168.1.1"];
        assert_eq!(client(&ours, "10.1.2.3", &chain), "203.0.113.9");
        // Nothing forwarded: the proxy itself.
        assert_eq!(client(&ours, "10.1.2.3", &[]), "10.1.2.3");
        // Only proxies of ours: the first of them.
        assert_eq!(
            client(&ours, "10.1.2.3", &["10.9.9.9, 192.168.1.1"]),
            "10.9.9.9"
        );
        // Garbage where a proxy of ours would have written an address.
        assert_eq!(
            client(&ours, "10.1.2.3", &["203.0.113.9, unknown"]),
            "10.1.2.3"
        );
    }

    #[test]
    fn an_ipv4_peer_of_a_dual_stack_listener_is_its_ipv4_address() {
        let ours = proxies(&["127.0.0.1"]);
        assert_eq!(
            client(&ours, "[::ffff:127.0.0.1]", &["192.0.2.7"]),
            "192.0.2.7"
        );
    }

    #[test]
    fn proxies_parse_as_addresses_or_networks() {
        assert!("10.0.0.5".parse::<TrustedProxy>().is_ok());
        assert!("10.0.0.0/8".parse::<TrustedProxy>().is_ok());
        assert!(" fd00::/8".parse::<TrustedProxy>().is_ok());
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy.example".parse::<TrustedProxy>().is_err());
    }
}
