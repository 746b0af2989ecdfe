//! `/metrics` for an operator command that runs for a while: a replay's
//! progress gauges (position, events left, ETA per projection) are recorded
//! in the process that replays, which serves no API, so it serves them here.

use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};

/// Installs the recorder and serves `GET /metrics` on `listen` until the
/// process ends; answers the address it is bound to.
pub async fn serve_metrics(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
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
            .content_type("text/plain; version=0.0.4")
            .body(resourcify_api::prometheus().render())
    });
    let route = poem::Route::new().at("/metrics", metrics);
    tokio::spawn(async move {
        if let Err(error) = poem::Server::new_with_acceptor(acceptor).run(route).await {
            tracing::warn!(%error, "the metrics endpoint stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::serve_metrics;

    #[tokio::test]
    async fn a_replay_serves_its_eta_per_projection_before_the_first_batch() {
        let bound = serve_metrics("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let mut stream = tokio::net::TcpStream::connect(bound).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: metrics\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
        assert!(answer.contains("# TYPE resourcify_replay_eta_seconds gauge"));
        assert!(answer.contains("# HELP resourcify_replay_eta_seconds"));
        for projection in ["users", "resources", "comments", "bookmarks", "news"] {
            let sample = format!("resourcify_replay_eta_seconds{{projection=\"{projection}\"}} 0");
            assert!(answer.contains(&sample), "{sample} in {answer}");
        }
    }
}
