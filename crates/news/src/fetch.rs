//! The outbound HTTP fetcher for feed sources.
//!
//! Feed URLs are typed in by admins, so every request this module makes is a
//! potential server-side request forgery: a URL (or a redirect, or a DNS
//! answer) pointing at loopback, the private network or a cloud metadata
//! service would let the API be used to read things it must never read. The
//! guard therefore sits where the decision is final: IP literals are checked
//! before any I/O, host names are checked on the addresses the resolver
//! actually hands to the connector (so DNS rebinding gains nothing), and
//! redirects are followed by hand so that every hop passes the same checks.
//! Sizes and time are bounded too, because a feed server is untrusted input.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

pub use resourcify_fetch_guard::{ALLOW_HOSTS_ENV, AllowList, is_public};

const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5";
const DEFAULT_USER_AGENT: &str = concat!("Resourcify-News/", env!("CARGO_PKG_VERSION"));
/// Per connection attempt; a name may resolve to several addresses and one
/// black-holed address should not use up the whole request budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// The whole fetch: every redirect hop and the body.
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub allow_hosts: AllowList,
    pub user_agent: String,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_body_bytes: 2 * 1024 * 1024,
            max_redirects: 5,
            allow_hosts: AllowList::default(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

/// Conditional-request validators remembered from the last 200.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum Fetched {
    NotModified,
    Body {
        body: Bytes,
        validators: Validators,
        content_type: Option<String>,
    },
}

/// Displayed verbatim to admins in the API, hence short sentences.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the response is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the server answered with HTTP status {0}")]
    Status(u16),
    #[error("too many redirects")]
    TooManyRedirects,
    #[error("network error: {0}")]
    Network(String),
}

#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: Arc<FetchSettings>,
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Self {
        let user_agent = HeaderValue::from_str(&settings.user_agent).unwrap_or_else(|_| {
            tracing::warn!(user_agent = %settings.user_agent, "unusable User-Agent, using the default");
            HeaderValue::from_static(DEFAULT_USER_AGENT)
        });
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config())
            .dns_resolver(GuardedResolver { allow: settings.allow_hosts.clone() })
            // A proxy from the environment would resolve and connect on our
            // behalf, out of the guard's sight.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(settings.timeout))
            .user_agent(user_agent)
            .default_headers(headers)
            .build()
            .expect("builder errors come only from invalid header values (all pre-validated here) and TLS or resolver set-up (both supplied ready-made)");
        Self {
            client,
            settings: Arc::new(settings),
        }
    }

    /// Refuses, before any network I/O, a URL the guard refuses (see
    /// [`resourcify_fetch_guard::check_url`]); asked on every hop.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        resourcify_fetch_guard::check_url(&self.settings.allow_hosts, url)
            .map_err(FetchError::Refused)
    }

    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let limit = self.settings.timeout;
        tokio::time::timeout(limit, self.fetch_unbounded(url, validators))
            .await
            .unwrap_or(Err(FetchError::Timeout(limit)))
    }

    async fn fetch_unbounded(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let mut url = url.clone();
        let mut redirects = 0;
        let mut response = loop {
            self.check_url(&url)?;
            let response = self
                .client
                .get(url.clone())
                .headers(conditional_headers(validators))
                .send()
                .await
                .map_err(|err| self.classify(&err))?;
            let status = response.status();
            if !is_followed_redirect(status) {
                break response;
            }
            if redirects == self.settings.max_redirects {
                return Err(FetchError::TooManyRedirects);
            }
            redirects += 1;
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or(FetchError::Status(status.as_u16()))?;
            url = url.join(location).map_err(|_| {
                FetchError::Network(format!(
                    "the server redirected to an invalid location {location:?}"
                ))
            })?;
        };

        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let limit = self.settings.max_body_bytes;
        let announced = response.content_length();
        if announced.is_some_and(|len| len > limit as u64) {
            return Err(FetchError::TooLarge { limit });
        }
        let text = |name| {
            let value = response.headers().get(name)?;
            value.to_str().ok().map(str::to_owned)
        };
        let validators = Validators {
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
        };
        let content_type = text(header::CONTENT_TYPE);

        // Chunk by chunk so an endless or lying body costs at most `limit`.
        let mut body = BytesMut::with_capacity(announced.map_or(0, |len| len as usize));
        while let Some(chunk) = response.chunk().await.map_err(|err| self.classify(&err))? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            body: body.freeze(),
            validators,
            content_type,
        })
    }

    fn classify(&self, err: &reqwest::Error) -> FetchError {
        let mut cause = std::error::Error::source(err);
        let mut deepest = None;
        while let Some(current) = cause {
            if let Some(refusal) = current.downcast_ref::<Refusal>() {
                return FetchError::Refused(refusal.0.clone());
            }
            deepest = Some(current);
            cause = current.source();
        }
        // No request timeout is configured on the client, so this can only
        // be the connect timeout.
        if err.is_timeout() {
            return FetchError::Timeout(CONNECT_TIMEOUT.min(self.settings.timeout));
        }
        // reqwest's own message only repeats the URL; the innermost cause
        // ("Connection refused", "invalid peer certificate", ...) says what
        // went wrong.
        FetchError::Network(deepest.map_or_else(|| err.to_string(), ToString::to_string))
    }
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

fn conditional_headers(validators: &Validators) -> HeaderMap {
    let mut headers = HeaderMap::new();
    // A stored validator that is no longer a valid header value only costs
    // a full download, so it is dropped rather than failing the fetch.
    let pairs = [
        (header::IF_NONE_MATCH, &validators.etag),
        (header::IF_MODIFIED_SINCE, &validators.last_modified),
    ];
    for (name, value) in pairs {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, value);
        }
    }
    headers
}

/// Rustls with ring and the bundled Mozilla roots, handed to reqwest ready
/// made: reqwest's own rustls set-up needs aws-lc-rs or a process-wide
/// provider, and bundled roots behave the same in every container image.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Enabling reqwest's rustls support (needed for https feeds) switches every
/// reqwest client in the same build to rustls, and a client built with plain
/// `reqwest::Client::new()` panics unless a process-wide rustls provider is
/// installed. Binaries and test harnesses that build such clients call this
/// first; it is a no-op when a provider is already installed. [`Fetcher`]
/// does not depend on it.
pub fn install_crypto_provider() {
    // An `Err` means some provider is already installed, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Carries a refusal through reqwest's error chain so `classify` can tell
/// it apart from an ordinary network failure.
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Resolves with the system resolver and keeps only public addresses, so the
/// guard applies to the addresses actually connected to. Names the
/// allow-list mentions are exempt; `check_url` has already refused their
/// unlisted ports, and every request of the private client passes it first.
#[derive(Debug)]
struct GuardedResolver {
    allow: AllowList,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let exempt = self.allow.names_host(&host);
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if exempt {
                return Ok(Box::new(resolved.into_iter()) as Addrs);
            }
            let (public, private): (Vec<_>, Vec<_>) =
                resolved.into_iter().partition(|addr| is_public(addr.ip()));
            if private.is_empty() && public.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            if public.is_empty() {
                let listed: Vec<String> =
                    private.iter().map(|addr| addr.ip().to_string()).collect();
                let refusal = format!(
                    "{host} resolves only to non-public addresses ({})",
                    listed.join(", ")
                );
                return Err(Box::new(Refusal(refusal)) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
