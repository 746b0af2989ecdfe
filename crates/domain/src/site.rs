//! A resource's site: the host of its URL, which the site pages and feeds
//! (`/v1/domains/{domain}`) group resources by (ADR 20).

use std::fmt;

/// The longest host name DNS allows.
const MAX_LEN: usize = 253;

/// A site: a URL's host, lowercased (international names in their ASCII
/// form, as `url` writes them), without a trailing dot, and without a
/// leading `www.` when something with a dot remains (`www.example.org` and
/// `example.org` are one site; `www.com` stays itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site(String);

impl Site {
    /// The site of a resource's URL; `None` for a URL without a host (a
    /// resource URL always has one: `ResourceUrl` refuses the others).
    pub fn of_url(url: &str) -> Option<Self> {
        let url = url::Url::parse(url).ok()?;
        let host = url.host_str()?.trim_end_matches('.').to_lowercase();
        if host.is_empty() {
            return None;
        }
        let site = match host.strip_prefix("www.") {
            Some(rest) if rest.contains('.') => rest.to_owned(),
            _ => host,
        };
        Some(Self(site))
    }

    /// A site as a client names it (a path parameter): a host name or
    /// address, any case, with or without `www.`; nothing else (no scheme,
    /// port, path or user).
    pub fn parse(raw: &str) -> Result<Self, String> {
        const REFUSED: &str = "must be a host name such as example.org";
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(format!("must be 1 to {MAX_LEN} characters"));
        }
        if raw.contains(['/', '?', '#', '@', '\\']) || raw.chars().any(char::is_whitespace) {
            return Err(REFUSED.to_owned());
        }
        // A port, even the default one (which the URL parser drops): only
        // an IPv6 address, in brackets, may hold colons.
        let bracketed = raw.starts_with('[') && raw.ends_with(']');
        if raw.contains(':') && !bracketed {
            return Err(REFUSED.to_owned());
        }
        let url = url::Url::parse(&format!("https://{raw}/")).map_err(|_| REFUSED.to_owned())?;
        if url.port().is_some() || url.path() != "/" {
            return Err(REFUSED.to_owned());
        }
        Self::of_url(url.as_str()).ok_or_else(|| REFUSED.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Site;

    fn site(url: &str) -> Option<String> {
        Site::of_url(url).map(Site::into_string)
    }

    #[test]
    fn the_site_is_the_host_lowercased_without_port_path_or_user() {
        assert_eq!(
            site("https://Blog.Rust-Lang.org/2026/x?y=1#z").unwrap(),
            "blog.rust-lang.org"
        );
        assert_eq!(site("http://example.org:8080/").unwrap(), "example.org");
        assert_eq!(site("https://EXAMPLE.org./a").unwrap(), "example.org");
    }

    #[test]
    fn one_leading_www_is_dropped_when_a_name_with_a_dot_remains() {
        assert_eq!(site("https://www.example.org/").unwrap(), "example.org");
        assert_eq!(site("https://WWW.example.org/").unwrap(), "example.org");
        assert_eq!(
            site("https://www.www.example.org/").unwrap(),
            "www.example.org"
        );
        assert_eq!(site("https://www.com/").unwrap(), "www.com");
        assert_eq!(
            site("https://www2.example.org/").unwrap(),
            "www2.example.org"
        );
        assert_eq!(site("https://wwwexample.org/").unwrap(), "wwwexample.org");
    }

    #[test]
    fn international_names_and_addresses_have_one_spelling() {
        assert_eq!(
            site("https://Bücher.example/").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(site("http://192.0.2.7/x").unwrap(), "192.0.2.7");
        assert_eq!(site("http://[2001:DB8::1]/").unwrap(), "[2001:db8::1]");
    }

    #[test]
    fn a_url_without_a_host_has_no_site() {
        assert_eq!(site("mailto:ada@example.org"), None);
        assert_eq!(site("not a url"), None);
    }

    #[test]
    fn a_named_site_is_read_as_a_url_host_is() {
        for (raw, expected) in [
            ("example.org", "example.org"),
            ("WWW.Example.ORG", "example.org"),
            (" example.org ", "example.org"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("www.com", "www.com"),
            ("[2001:DB8::1]", "[2001:db8::1]"),
        ] {
            assert_eq!(Site::parse(raw).unwrap().as_str(), expected, "{raw}");
        }
    }

    #[test]
    fn a_named_site_with_more_than_a_host_is_refused() {
        for raw in [
            "",
            "https://example.org",
            "example.org/path",
            "example.org:443",
            "example.org:8080",
            "[::1]:80",
            "ada@example.org",
            "exa mple.org",
            "example.org?x",
            &"a".repeat(254),
        ] {
            assert!(Site::parse(raw).is_err(), "{raw:?}");
        }
    }
}
