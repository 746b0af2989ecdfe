//! No secret in what the binary prints: `--help` with every secret set in
//! the environment, and the logs of a server at its most talkative
//! (`RUST_LOG=debug`, JSON) through sign-up, log-in, a failed log-in, a
//! refresh and a password change. Tested from outside, as an operator sees
//! them: the process's own stdout and stderr.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use resourcify_testkit::{NamespaceGuard, nats_url};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const DB_PASSWORD: &str = "pg-hunter2-db";
const SIGNING_SECRET: &str = "signing-secret-for-the-output-tests-0123456789";
const PREVIOUS_SECRET: &str = "previous-signing-secret-for-the-output-tests-987";
const PASSWORD: &str = "first-Pa55word-of-ada";
const WRONG_PASSWORD: &str = "wrong-Pa55word-guessed";
const NEW_PASSWORD: &str = "second-Pa55word-of-ada";

/// The test database's URL with a password in it (trust authentication
/// ignores it; the point is that it is never printed).
fn url_with_password(db: &PgConnectOptions) -> String {
    format!(
        "postgres://{}:{DB_PASSWORD}@{}:{}/{}",
        db.get_username(),
        db.get_host(),
        db.get_port(),
        db.get_database().expect("sqlx::test names the database")
    )
}

/// The server, killed if the test ends before it stopped it.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn assert_holds_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[test]
fn help_shows_no_secret_from_the_environment() {
    for args in [&["--help"][..], &["serve", "--help"], &["replay", "--help"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_resourcify"))
            .args(args)
            .env(
                "DATABASE_URL",
                format!("postgres://app:{DB_PASSWORD}@db.internal/views"),
            )
            .env("NATS_URL", "nats://app:nats-hunter2@nats.internal:4222")
            .env("RESOURCIFY_JWT_SECRET", SIGNING_SECRET)
            .env("RESOURCIFY_JWT_PREVIOUS_SECRET", PREVIOUS_SECRET)
            .output()
            .expect("the binary runs");
        assert!(output.status.success(), "{args:?}");
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(shown.contains("Usage"), "{shown}");
        assert_holds_no_secret(
            &format!("{args:?}"),
            &shown,
            &[DB_PASSWORD, "nats-hunter2", SIGNING_SECRET, PREVIOUS_SECRET],
        );
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn debug_logs_of_a_members_sessions_show_no_secret(_: PgPoolOptions, db: PgConnectOptions) {
    let namespace = NamespaceGuard::new();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_resourcify"))
        .args([
            "serve",
            "--no-migrate",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("DATABASE_URL", url_with_password(&db))
        .env("NATS_URL", nats_url())
        .env("RESOURCIFY_NAMESPACE", namespace.namespace().as_str())
        .env("RESOURCIFY_JWT_SECRET", SIGNING_SECRET)
        .env("RESOURCIFY_JWT_PREVIOUS_SECRET", PREVIOUS_SECRET)
        .env("RESOURCIFY_METRICS_LISTEN", "off")
        .env("RESOURCIFY_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout_pipe = child.stdout.take().unwrap();
    let stderr_pipe = child.stderr.take().unwrap();
    let mut serve = Server(Some(child));
    // Both pipes drained into memory as the server writes, so it never
    // blocks; the server says when it listens, after every role started.
    let (listening_tx, listening) = std::sync::mpsc::channel();
    let drain = move |pipe: Box<dyn Read + Send>, listening: std::sync::mpsc::Sender<()>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(pipe).lines() {
                let line = line.unwrap_or_default();
                if line.contains("API listening") {
                    let _ = listening.send(());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        })
    };
    let stdout = drain(Box::new(stdout_pipe), listening_tx.clone());
    let stderr = drain(Box::new(stderr_pipe), listening_tx);
    tokio::task::spawn_blocking(move || listening.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("serve listens within 60 s");

    resourcify_news::fetch::install_crypto_provider();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let post = |path: &str, body: Value, token: Option<&str>, position: Option<u64>| {
        let mut request = http.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(position) = position {
            request = request.header("X-Resourcify-Min-Position", position);
        }
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, signed_up) = post(
        "/v1/users",
        json!({"username": "ada", "email": "ada@example.org", "password": PASSWORD}),
        None,
        None,
    )
    .await;
    assert_eq!(status, 201, "{signed_up}");
    let position = signed_up["position"].as_u64();
    let login = json!({"login": "ada", "password": PASSWORD});
    let (status, session) = post("/v1/sessions", login, None, position).await;
    assert_eq!(status, 200, "{session}");
    let wrong = json!({"login": "ada@example.org", "password": WRONG_PASSWORD});
    assert_eq!(post("/v1/sessions", wrong, None, position).await.0, 401);
    let access = session["access_token"].as_str().unwrap().to_owned();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = post(
        "/v1/sessions/refresh",
        json!({"refresh_token": refresh}),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let access_again = refreshed["access_token"].as_str().unwrap().to_owned();
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let changed = http
        .put(format!("{base}/v1/me/password"))
        .bearer_auth(&access_again)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{changed:?}");

    let mut child = serve.0.take().expect("still running");
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let exited = tokio::task::spawn_blocking(move || child.wait());
    tokio::time::timeout(Duration::from_secs(30), exited)
        .await
        .expect("serve exits on SIGTERM")
        .unwrap()
        .unwrap();
    let logs = format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap());
    assert!(logs.contains("API listening"), "the logs were captured");
    assert!(logs.lines().count() > 50, "debug logs were on");
    assert_holds_no_secret(
        "the debug logs",
        &logs,
        &[
            DB_PASSWORD,
            SIGNING_SECRET,
            PREVIOUS_SECRET,
            PASSWORD,
            WRONG_PASSWORD,
            NEW_PASSWORD,
            &access,
            &refresh,
            &access_again,
            "$argon2id$",
        ],
    );
}

/// The parsed command line holds its secrets as secrets: a `Debug` of it
/// (in a panic, a log line) shows none of them.
#[test]
fn the_parsed_command_line_shows_no_secret() {
    use clap::Parser;
    let cli = resourcify::cli::Cli::try_parse_from([
        "resourcify",
        "--database-url",
        &format!("postgres://app:{DB_PASSWORD}@db.internal/views"),
        "--nats-url",
        "nats://app:nats-hunter2@nats.internal:4222",
        "serve",
        "--jwt-secret",
        SIGNING_SECRET,
        "--jwt-previous-secret",
        PREVIOUS_SECRET,
    ])
    .unwrap();
    let shown = format!("{cli:?} {cli:#?}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert_holds_no_secret(
        "Debug of the command line",
        &shown,
        &[DB_PASSWORD, "nats-hunter2", SIGNING_SECRET, PREVIOUS_SECRET],
    );
}
