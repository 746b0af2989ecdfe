//! `resourcify serve` as a child process of a test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A signing secret long enough for `serve` to accept.
const SIGNING_SECRET: &str = "a-signing-secret-only-the-tests-use-0123456789";

/// `resourcify serve --no-migrate` over `database_url` and `namespace`,
/// ready for more arguments (`--listen`, `--role`) and to spawn: `binary`
/// is the test's `CARGO_BIN_EXE_resourcify`. Its metrics go to any free
/// port, and its stderr is piped and says when it listens, for
/// [`until_listening`].
pub fn serve_process(binary: &str, database_url: &str, namespace: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["serve", "--no-migrate"])
        .env("DATABASE_URL", database_url)
        .env("NATS_URL", crate::nats_url())
        .env("RESOURCIFY_NAMESPACE", namespace)
        .env("RESOURCIFY_JWT_SECRET", SIGNING_SECRET)
        .env("RESOURCIFY_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn,resourcify::node=info")
        .env_remove("RESOURCIFY_LOG_FORMAT")
        .stderr(Stdio::piped());
    command
}

/// Waits until `serve`, started with its stderr piped and logging
/// `resourcify::node` at info, says that its API listens, which comes after
/// every role started; then keeps its stderr drained, so that logging never
/// blocks it. `Err`: what it printed before it ended without listening, or
/// that it did not listen `within`.
pub async fn until_listening(serve: &mut Child, within: Duration) -> Result<(), String> {
    let stderr = serve.stderr.take().ok_or("serve's stderr is not piped")?;
    let listening = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("API listening") {
                std::thread::spawn(move || lines.for_each(drop));
                return Ok(());
            }
        }
        Err(format!("serve ended before it listened:\n{seen}"))
    });
    match tokio::time::timeout(within, listening).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(panicked)) => Err(panicked.to_string()),
        Err(_) => Err(format!("serve did not listen within {within:?}")),
    }
}
