//! The operator address: `/metrics` served apart from the public API (ADR
//! 15). A node of any role serves it (`RESOURCIFY_METRICS_LISTEN`, loopback
//! by default), since projector and ingest nodes record metrics too, and so
//! does an operator command that runs for a while: a replay's progress
//! gauges (position, events left, ETA per projection) are recorded in the
//! process that replays, which serves no API.
//!
//! Nothing here is public: no rate limits, no contract, no problem+json;
//! whoever can reach the address is an operator or their Prometheus.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::task::JoinHandle;

/// The Prometheus text exposition format, as `/metrics` answers it.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Installs the recorder and serves `GET /metrics` on `listen`; answers the
/// address it is bound to (the real port when `listen` asked for port 0)
/// and the server's task. The server runs until the task is aborted, or
/// for as long as the process if the handle is dropped.
pub(crate) async fn serve_metrics(
    listen: SocketAddr,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    crate::install_metrics();
    let acceptor = TcpListener::bind(listen)
        .into_acceptor()
        .await
        .with_context(|| format!("serving metrics on {listen}"))?;
    let bound = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .context("the metrics listener has no socket address")?;
    let metrics = poem::endpoint::make_sync(|_| {
        poem::Response::builder()
            .content_type(CONTENT_TYPE)
            .body(resourcify_api::prometheus().render())
    });
    let route = poem::Route::new().at("/metrics", poem::get(metrics));
    let task = tokio::spawn(async move {
        if let Err(error) = poem::Server::new_with_acceptor(acceptor).run(route).await {
            tracing::warn!(%error, "the metrics endpoint stopped");
        }
    });
    Ok((bound, task))
}

/// Folds the recorder's buffered histogram samples into its histograms
/// every few seconds, for as long as the task runs. A scrape does it too,
/// but a node nobody scrapes (or that serves no metrics) would otherwise
/// buffer every sample it records.
pub(crate) async fn keep_up() {
    let mut ticker = tokio::time::interval(Duration::from_secs(10));
    loop {
        ticker.tick().await;
        resourcify_api::prometheus().run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::serve_metrics;

    /// The raw answer to one HTTP/1.0 request.
    async fn ask(addr: std::net::SocketAddr, request: &[u8]) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn a_replay_serves_its_eta_per_projection_before_the_first_batch() {
        let (bound, _server) = serve_metrics("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let answer = ask(bound, b"GET /metrics HTTP/1.0\r\nHost: metrics\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
        assert!(answer.contains("# TYPE resourcify_replay_eta_seconds gauge"));
        assert!(answer.contains("# HELP resourcify_replay_eta_seconds"));
        for projection in ["users", "resources", "comments", "bookmarks", "news"] {
            let sample = format!("resourcify_replay_eta_seconds{{projection=\"{projection}\"}} 0");
            assert!(answer.contains(&sample), "{sample} in {answer}");
        }
    }

    #[tokio::test]
    async fn the_operator_address_serves_metrics_and_nothing_else() {
        let (bound, server) = serve_metrics("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let elsewhere = ask(bound, b"GET /healthz HTTP/1.0\r\nHost: metrics\r\n\r\n").await;
        assert!(elsewhere.starts_with("HTTP/1.0 404"), "{elsewhere}");
        let posted = ask(bound, b"POST /metrics HTTP/1.0\r\nHost: metrics\r\n\r\n").await;
        assert!(posted.starts_with("HTTP/1.0 405"), "{posted}");
        server.abort();
        let _ = server.await;
        assert!(tokio::net::TcpStream::connect(bound).await.is_err());
    }
}
