//! Which addresses the news fetcher may reach on its own, and which hosts
//! an operator has exempted. Kept apart from the HTTP code so the rules can
//! be read, and tested, as plain tables, and so the application layer can
//! refuse a source up front without depending on an HTTP client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Refuses, before any network I/O, a URL that is not http(s), or whose
/// host is an IP literal that is not public and not allow-listed. The
/// application layer asks when an admin adds a source (so creation can
/// answer 422); the
/// fetcher asks again on every hop. The `Err` says why, for a person.
///
/// Host names are left to the fetcher's resolver, with one exception: a
/// name that the allow-list only names with other ports is refused here.
/// The resolver sees names without ports, so it exempts every name the
/// allow-list mentions; refusing the other ports up front keeps an entry
/// like `localhost:8080` from opening `localhost:22` too.
pub fn check_url(allow: &AllowList, url: &Url) -> Result<(), String> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "{scheme} URLs are not fetched, only http and https"
        ));
    }
    let port = url
        .port_or_known_default()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let literal = |ip: IpAddr| {
        if is_public(ip) || allow.allows(&ip.to_string(), port) {
            Ok(())
        } else {
            Err(format!("{ip} is not a public address"))
        }
    };
    match url.host() {
        None => Err("the URL has no host".into()),
        Some(Host::Domain(name)) if allow.names_host(name) && !allow.allows(name, port) => Err(
            format!("{name} is allow-listed only for other ports than {port}"),
        ),
        Some(Host::Domain(_)) => Ok(()),
        Some(Host::Ipv4(ip)) => literal(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => literal(IpAddr::V6(ip)),
    }
}

/// Names the environment variable the allow-list is read from, so error
/// messages point the operator at the setting to fix.
pub const ALLOW_HOSTS_ENV: &str = "RESOURCIFY_NEWS_ALLOW_HOSTS";

/// Whether an address may be reached without an allow-list entry: not
/// loopback, unspecified, private (RFC 1918), CGNAT 100.64/10, link-local
/// (169.254/16 incl. cloud metadata 169.254.169.254, fe80::/10), unique-local
/// fc00::/7, multicast, broadcast, documentation ranges, 0.0.0.0/8,
/// IPv4-mapped/compatible IPv6 of any of those, 6to4/NAT64 well-known
/// prefixes embedding them, etc.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Special-purpose IPv4 blocks (IANA registry) that must never be reached on
/// an admin's say-so alone. Listed explicitly because `Ipv4Addr::is_global`
/// is still unstable.
const V4_NOT_PUBLIC: &[([u8; 4], u32)] = &[
    ([0, 0, 0, 0], 8),       // "this network"; 0.0.0.0 reaches localhost on Linux
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // carrier-grade NAT
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, home of cloud metadata services
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation
    ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation
    ([203, 0, 113, 0], 24),  // documentation
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, including 255.255.255.255 broadcast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !V4_NOT_PUBLIC
        .iter()
        .any(|&(net, len)| bits >> (32 - len) == u32::from_be_bytes(net) >> (32 - len))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    // A gateway (or the kernel itself) turns these into a connection to the
    // embedded IPv4 address, so they are exactly as public as that address.
    if let Some(v4) = embedded_v4(bits) {
        return is_public_v4(v4);
    }
    let within = |net: u128, len: u32| bits >> (128 - len) == net >> (128 - len);
    // Everything outside 2000::/3 (ULA, link-local, site-local, multicast,
    // discard-only, the local-use NAT64 prefix, ::/96, ...) is unallocated or
    // special-purpose, so only global unicast is considered at all.
    within(0x2000 << 112, 3)
        && !within(0x2001_0000 << 96, 23) // IETF protocol assignments, incl. Teredo
        && !within(0x2001_0db8 << 96, 32) // documentation
        && !within(0x3fff << 112, 20) // documentation (RFC 9637)
}

fn embedded_v4(bits: u128) -> Option<Ipv4Addr> {
    // Truncation is the point: the IPv4 address sits in the low 32 bits.
    let low = Ipv4Addr::from(bits as u32);
    match bits >> 32 {
        0xffff => Some(low),                          // ::ffff:0:0/96, IPv4-mapped
        0x0064_ff9b_0000_0000_0000_0000 => Some(low), // 64:ff9b::/96, NAT64
        // IPv4-compatible ::/96 (which also holds :: and ::1) is deprecated;
        // no feed lives there, so it is refused whatever it embeds.
        0 => Some(Ipv4Addr::UNSPECIFIED),
        _ if bits >> 112 == 0x2002 => Some(Ipv4Addr::from((bits >> 80) as u32)), // 6to4
        _ => None,
    }
}

/// `RESOURCIFY_NEWS_ALLOW_HOSTS`: comma-separated `host[:port]` entries that
/// are exempt from the address guard (tests use it for a local feed server on
/// `127.0.0.1:<port>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<AllowEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    /// In [`canonical_host`] form, so comparisons are plain string equality.
    host: String,
    /// `None` allows every port.
    port: Option<u16>,
}

impl AllowList {
    /// Parses `host[:port], ...`; IPv6 addresses take brackets when a port
    /// follows (`[::1]:8080`). Empty entries are skipped so a trailing comma
    /// is harmless.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let entries = raw
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                parse_entry(item).map_err(|why| format!("{ALLOW_HOSTS_ENV}: `{item}` {why}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Entry without port = any port. Host matching ignores case, brackets
    /// around IPv6 and a trailing dot.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        canonical_host(host).is_some_and(|host| {
            self.entries
                .iter()
                .any(|entry| entry.host == host && entry.port.is_none_or(|p| p == port))
        })
    }

    /// Whether any entry names this host, whatever its port. The resolver
    /// only sees host names, so this is all it can ask.
    pub fn names_host(&self, host: &str) -> bool {
        canonical_host(host).is_some_and(|host| self.entries.iter().any(|entry| entry.host == host))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn parse_entry(item: &str) -> Result<AllowEntry, String> {
    let (host, port) = if let Some(rest) = item.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or("has an unclosed `[`")?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err("has brackets around something that is not an IPv6 address".into());
        }
        match after {
            "" => (inside, None),
            _ => (
                inside,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or("has text after `]` that is not `:port`")?,
                ),
            ),
        }
    } else if item.parse::<Ipv6Addr>().is_ok() {
        (item, None)
    } else {
        match item.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (item, None),
        }
    };
    let host = canonical_host(host).ok_or("is not a host name or IP address")?;
    let port = port
        .map(|port| match port.parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(format!("has an invalid port `{port}` (expected 1-65535)")),
        })
        .transpose()?;
    Ok(AllowEntry { host, port })
}

/// One spelling per host, matching what `url` hands out for the same host:
/// IP addresses in standard form without brackets, names lowercased and
/// punycoded without a trailing dot. `None` for anything that is not a host.
fn canonical_host(host: &str) -> Option<String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    match url::Host::parse(host).ok()? {
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
        url::Host::Domain(name) => {
            let name = name.strip_suffix('.').unwrap_or(&name).to_ascii_lowercase();
            // `url` lets through characters like `*` that no DNS name has;
            // refusing them catches wildcard attempts that would never match.
            let plausible = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            plausible.then_some(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_non_public_addresses() {
        let table = [
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("93.184.216.34", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.32.0.1", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.1.2.3", false),
            ("100.64.0.1", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("169.254.169.254", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("192.168.1.1", false),
            ("198.18.0.1", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            ("2606:4700:4700::1111", true),
            ("2a00:1450:4001::200e", true),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::808:808", true),
            ("2002:808:808::1", true),
            ("::", false),
            ("::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:10.0.0.1", false),
            ("::127.0.0.1", false),
            ("::8.8.8.8", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b:1::a9fe:a9fe", false),
            ("2002:a9fe:a9fe::1", false),
            ("2002:7f00:1::", false),
            ("2001:db8::1", false),
            ("2001::1", false),
            ("3fff::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("100::1", false),
        ];
        for (ip, public) in table {
            let parsed: IpAddr = ip.parse().expect("test addresses parse");
            assert_eq!(is_public(parsed), public, "{ip}");
        }
    }

    #[test]
    fn allow_list_parses_and_matches() {
        assert!(AllowList::parse("").expect("empty parses").is_empty());
        assert!(AllowList::parse(" , ").expect("blank parses").is_empty());

        let list =
            AllowList::parse(" 127.0.0.1:8080, Feeds.Example.COM ,[::1]:9000,::2, localhost:1,")
                .expect("valid list parses");
        assert!(list.allows("127.0.0.1", 8080));
        assert!(!list.allows("127.0.0.1", 8081));
        assert!(list.allows("feeds.example.com", 443));
        assert!(list.allows("FEEDS.example.com.", 8443));
        assert!(list.allows("[::1]", 9000));
        assert!(list.allows("::1", 9000));
        assert!(!list.allows("::1", 80));
        assert!(list.allows("[::2]", 1234));
        assert!(list.allows("LOCALHOST", 1));
        assert!(!list.allows("localhost", 2));
        assert!(!list.allows("example.com", 443));
        assert!(list.names_host("localhost"));
        assert!(!list.names_host("127.0.0.2"));
    }

    #[test]
    fn allow_list_rejects_garbage_readably() {
        for bad in [
            "host:port",
            "host:0",
            "host:70000",
            "[::1",
            "[::1]x",
            "[nope]:80",
            "a b",
            "*.example.com",
            ":80",
            "http://x",
        ] {
            let err = AllowList::parse(bad).expect_err(bad);
            assert!(
                err.starts_with(ALLOW_HOSTS_ENV) && err.contains(bad),
                "{bad}: {err}"
            );
        }
    }
}
