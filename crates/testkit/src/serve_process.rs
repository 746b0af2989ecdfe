//! `resourcify serve` as a child process of a test.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Duration;

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
