use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

fn fetcher(allow: &str, timeout: Duration) -> Fetcher {
    Fetcher::new(FetchSettings {
        timeout,
        max_body_bytes: 1024,
        max_redirects: 3,
        allow_hosts: AllowList::parse(allow).expect("test allow-list parses"),
        ..FetchSettings::default()
    })
}

fn url(raw: &str) -> Url {
    Url::parse(raw).expect("test URL parses")
}

/// A fetcher that may reach the test server on 127.0.0.1:`port`.
fn local_fetcher(port: u16, timeout: Duration) -> Fetcher {
    fetcher(&format!("127.0.0.1:{port}"), timeout)
}

/// What `fetcher` answers for `address`, asked with no validators.
async fn fetch_fresh(fetcher: &Fetcher, address: &str) -> Result<Fetched, FetchError> {
    fetcher.fetch(&url(address), &Validators::default()).await
}

fn refused(result: Result<impl std::fmt::Debug, FetchError>) -> String {
    match result {
        Err(FetchError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A complete response that closes the connection, so no test depends on
/// connection reuse.
fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut raw = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    raw.into_bytes()
}

/// A listener on a free port of 127.0.0.1, and the port.
async fn local_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let port = listener
        .local_addr()
        .expect("bound socket has an address")
        .port();
    (listener, port)
}

/// A one-line HTTP/1.1 server on 127.0.0.1: `respond` sees the request head
/// (lowercased) and returns the raw response, written after `delay`.
async fn serve(
    delay: Duration,
    respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
) -> (u16, Arc<AtomicUsize>) {
    let (listener, port) = local_listener().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let (respond, counter) = (Arc::new(respond), hits.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                tokio::time::sleep(delay).await;
                let reply = respond(&String::from_utf8_lossy(&head).to_ascii_lowercase());
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, hits)
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn check_url_refusals() {
    let fetcher = fetcher("127.0.0.1:8080, localhost:8080", SECOND);
    for (raw, why) in [
        ("http://127.0.0.1/", "127.0.0.1 is not a public address"),
        (
            "http://127.0.0.1:8081/",
            "127.0.0.1 is not a public address",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is not a public address",
        ),
        ("http://[::1]:8080/", "::1 is not a public address"),
        (
            "http://[::ffff:127.0.0.1]:8080/",
            "::ffff:127.0.0.1 is not a public address",
        ),
        (
            "http://2130706433:8081/",
            "127.0.0.1 is not a public address",
        ),
        (
            "http://localhost:22/",
            "localhost is allow-listed only for other ports than 22",
        ),
        (
            "http://LOCALHOST./",
            "localhost. is allow-listed only for other ports than 80",
        ),
        (
            "file:///etc/passwd",
            "file URLs are not fetched, only http and https",
        ),
        (
            "gopher://example.com/",
            "gopher URLs are not fetched, only http and https",
        ),
    ] {
        assert_eq!(refused(fetcher.check_url(&url(raw))), why, "{raw}");
    }
    for raw in [
        "http://127.0.0.1:8080/feed",
        "http://localhost:8080/",
        "https://example.com/feed.xml",
        "http://8.8.8.8/",
    ] {
        assert!(fetcher.check_url(&url(raw)).is_ok(), "{raw}");
    }
    let err = fetcher
        .check_url(&url("http://169.254.169.254/"))
        .expect_err("metadata is refused");
    assert_eq!(
        err.to_string(),
        "refused: 169.254.169.254 is not a public address"
    );
}

#[tokio::test]
async fn serves_body_then_not_modified() {
    let (port, _) = serve(Duration::ZERO, |head| {
        assert!(head.contains("accept: application/atom+xml"), "{head}");
        if head.contains("if-none-match: \"v1\"") {
            response("304 Not Modified", &[("ETag", "\"v1\"")], "")
        } else {
            response(
                "200 OK",
                &[("ETag", "\"v1\""), ("Content-Type", "application/rss+xml")],
                "<rss/>",
            )
        }
    })
    .await;
    let fetcher = local_fetcher(port, SECOND);
    let feed = url(&format!("http://127.0.0.1:{port}/feed"));

    let Ok(Fetched::Body {
        body,
        validators,
        content_type,
    }) = fetcher.fetch(&feed, &Validators::default()).await
    else {
        panic!("the first fetch returns the body");
    };
    assert_eq!(&body[..], b"<rss/>");
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(content_type.as_deref(), Some("application/rss+xml"));

    let again = fetcher.fetch(&feed, &validators).await;
    assert!(matches!(again, Ok(Fetched::NotModified)), "{again:?}");
}

#[tokio::test]
async fn follows_relative_redirects_within_the_limit() {
    let (port, _) = serve(Duration::ZERO, |head| match head.lines().next() {
        Some(line) if line.starts_with("get /old ") => {
            response("301 Moved", &[("Location", "new")], "")
        }
        Some(line) if line.starts_with("get /new ") => response("200 OK", &[], "feed"),
        _ => response("302 Found", &[("Location", "/loop")], ""),
    })
    .await;
    let fetcher = local_fetcher(port, SECOND);
    let moved = fetch_fresh(&fetcher, &format!("http://127.0.0.1:{port}/old")).await;
    assert!(
        matches!(moved, Ok(Fetched::Body { ref body, .. }) if &body[..] == b"feed"),
        "{moved:?}"
    );
    let looping = fetch_fresh(&fetcher, &format!("http://127.0.0.1:{port}/loop")).await;
    assert!(
        matches!(looping, Err(FetchError::TooManyRedirects)),
        "{looping:?}"
    );
}

#[tokio::test]
async fn error_statuses_are_reported() {
    let (port, _) = serve(Duration::ZERO, |_| response("404 Not Found", &[], "gone")).await;
    let result = fetch_fresh(
        &local_fetcher(port, SECOND),
        &format!("http://127.0.0.1:{port}/"),
    )
    .await;
    assert!(matches!(result, Err(FetchError::Status(404))), "{result:?}");
}

#[tokio::test]
async fn oversized_bodies_are_cut_off() {
    let big = "x".repeat(4096);
    let announced = response("200 OK", &[], &big);
    // No Content-Length: the limit must hold while streaming.
    let unannounced = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{big}").into_bytes();
    for reply in [announced, unannounced] {
        let (port, _) = serve(Duration::ZERO, move |_| reply.clone()).await;
        let result = fetch_fresh(
            &local_fetcher(port, SECOND),
            &format!("http://127.0.0.1:{port}/"),
        )
        .await;
        assert!(
            matches!(result, Err(FetchError::TooLarge { limit: 1024 })),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn slow_servers_time_out() {
    let (port, _) = serve(Duration::from_secs(3), |_| response("200 OK", &[], "late")).await;
    let limit = Duration::from_millis(300);
    let result = fetch_fresh(
        &local_fetcher(port, limit),
        &format!("http://127.0.0.1:{port}/"),
    )
    .await;
    assert!(
        matches!(result, Err(FetchError::Timeout(d)) if d == limit),
        "{result:?}"
    );
}

#[tokio::test]
async fn redirects_into_the_private_network_are_refused() {
    let (other, other_hits) = serve(Duration::ZERO, |_| response("200 OK", &[], "secret")).await;
    let (port, _) = serve(Duration::ZERO, move |head| {
        let target = if head.starts_with("get /metadata ") {
            "http://169.254.169.254/latest/meta-data/".to_owned()
        } else {
            format!("http://127.0.0.1:{other}/")
        };
        response("302 Found", &[("Location", &target)], "")
    })
    .await;
    let fetcher = local_fetcher(port, SECOND);

    let sideways = fetch_fresh(&fetcher, &format!("http://127.0.0.1:{port}/")).await;
    assert_eq!(refused(sideways), "127.0.0.1 is not a public address");
    assert_eq!(
        other_hits.load(Ordering::SeqCst),
        0,
        "the unlisted port was never contacted"
    );

    let metadata = fetch_fresh(&fetcher, &format!("http://127.0.0.1:{port}/metadata")).await;
    assert_eq!(refused(metadata), "169.254.169.254 is not a public address");
}

#[tokio::test]
async fn names_resolving_to_loopback_are_refused_unless_listed() {
    let (port, hits) = serve(Duration::ZERO, |_| response("200 OK", &[], "local")).await;
    let feed = format!("http://localhost:{port}/");

    let unlisted = fetch_fresh(&local_fetcher(port, SECOND), &feed).await;
    let why = refused(unlisted);
    assert!(
        why.starts_with("localhost resolves only to non-public addresses ("),
        "{why}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    let listed = fetch_fresh(&fetcher(&format!("localhost:{port}"), SECOND), &feed).await;
    assert!(matches!(listed, Ok(Fetched::Body { .. })), "{listed:?}");
}

#[tokio::test]
async fn https_goes_through_rustls() {
    // What matters is that a TLS handshake is attempted and its failure is a
    // network error, not a panic for want of a crypto provider.
    let (listener, port) = local_listener().await;
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the client connects");
        let mut hello = [0; 512];
        let _ = socket.read(&mut hello).await;
        let _ = socket.write_all(&response("200 OK", &[], "not TLS")).await;
    });
    let result = fetch_fresh(
        &local_fetcher(port, SECOND),
        &format!("https://127.0.0.1:{port}/"),
    )
    .await;
    assert!(matches!(result, Err(FetchError::Network(_))), "{result:?}");
}

#[test]
fn plain_reqwest_clients_build_once_a_provider_is_installed() {
    install_crypto_provider();
    let _ = reqwest::Client::new();
}
