//! What the binary prints: an unreachable service named by its address
//! within seconds (never with the URL's password), and a replay that ends
//! every projection's bar at 100 % with no notices or connection chatter.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use resourcify_eventstore::{EventStore, EventStoreSettings};
use resourcify_projector::Projection;
use resourcify_testkit::{
    NamespaceGuard, SyntheticHistory, nats_url, projector_process, serve_process, until_listening,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Longer than the connect timeout (3 s), with room for a slow machine.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
const PASSWORD: &str = "s3cret-Pa55word";
/// A signing secret long enough to be accepted.
const SIGNING_SECRET: &str = "a-signing-secret-only-these-tests-use-0123456789";

/// One run of the binary.
#[derive(Debug)]
struct Run {
    succeeded: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `resourcify args…` with these services and no `RUST_LOG`: the
/// defaults an operator gets.
async fn resourcify(database_url: &str, nats_url: &str, namespace: &str, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resourcify"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("NATS_URL", nats_url)
        .env("RESOURCIFY_NAMESPACE", namespace)
        .env("RESOURCIFY_JWT_SECRET", SIGNING_SECRET)
        .env_remove("RESOURCIFY_JWT_PREVIOUS_SECRET")
        .env("RESOURCIFY_METRICS_LISTEN", "127.0.0.1:0")
        .env_remove("RUST_LOG")
        .env_remove("RESOURCIFY_LOG_FORMAT");
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = command.output().expect("the binary runs");
        Run {
            succeeded: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            took: started.elapsed(),
        }
    })
    .await
    .unwrap()
}

/// A loopback port that was free a moment ago: nothing answers there.
fn a_port_nobody_listens_on() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

use resourcify_testkit::database_url as url_of;

/// A Postgres server that answers, for commands that should fail on NATS first.
fn reachable_postgres() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn assert_names_the_address(run: &Run, service: &str, port: u16) {
    assert!(!run.succeeded, "{run:#?}");
    assert!(run.took < ANSWER_WITHIN, "took {:?}: {run:#?}", run.took);
    let expected = format!("cannot reach {service} at 127.0.0.1:{port}");
    assert!(run.stderr.contains(&expected), "{run:#?}");
    assert!(!run.stderr.contains(PASSWORD), "{run:#?}");
    assert!(!run.stdout.contains(PASSWORD), "{run:#?}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_by_address_within_seconds() {
    let port = a_port_nobody_listens_on();
    let database_url = format!("postgres://operator:{PASSWORD}@127.0.0.1:{port}/resourcify");
    let namespace = NamespaceGuard::new();
    for args in [
        &["dead-letters", "list"][..],
        &["migrate"],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        let run = resourcify(
            &database_url,
            &nats_url(),
            namespace.namespace().as_str(),
            args,
        )
        .await;
        assert_names_the_address(&run, "PostgreSQL", port);
        assert!(
            run.stderr
                .contains("connection refused (gave up after 3 s)"),
            "{args:?}: {run:#?}"
        );
    }
}

/// It refuses before it connects to anything, so nothing is created.
#[test]
fn serve_refuses_to_start_without_a_long_enough_signing_secret() {
    let serve = |secret: Option<&'static str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_resourcify"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--no-migrate"])
            .env("DATABASE_URL", reachable_postgres())
            .env("NATS_URL", nats_url())
            .env("RESOURCIFY_NAMESPACE", "refused")
            .env_remove("RESOURCIFY_JWT_SECRET")
            .env_remove("RESOURCIFY_JWT_PREVIOUS_SECRET")
            .env_remove("RUST_LOG");
        if let Some(secret) = secret {
            command.env("RESOURCIFY_JWT_SECRET", secret);
        }
        command.output().expect("the binary runs")
    };
    for (secret, says) in [
        (None, "RESOURCIFY_JWT_SECRET is not set"),
        (
            Some("short-and-guessable"),
            "RESOURCIFY_JWT_SECRET must be at least 32 bytes",
        ),
    ] {
        let output = serve(secret);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("short-and-guessable"), "{stderr}");
    }
}

#[tokio::test]
async fn an_unreachable_nats_is_named_by_address_within_seconds() {
    let port = a_port_nobody_listens_on();
    let nats_url = format!("nats://operator:{PASSWORD}@127.0.0.1:{port}");
    let namespace = NamespaceGuard::new();
    for args in [
        &["status"][..],
        &["admin", "grant", "ada"],
        &["replay", "--all"],
        &["serve", "--no-migrate", "--listen", "127.0.0.1:0"],
    ] {
        let run = resourcify(
            &reachable_postgres(),
            &nats_url,
            namespace.namespace().as_str(),
            args,
        )
        .await;
        assert_names_the_address(&run, "NATS", port);
    }
}

/// `NATS_URL` takes a cluster's URLs, comma-separated, as every NATS client
/// does: one that answers is enough, and when none does, each is named.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn nats_url_takes_a_list_of_a_clusters_servers(_: PgPoolOptions, db: PgConnectOptions) {
    let (down, also_down) = (a_port_nobody_listens_on(), a_port_nobody_listens_on());
    let namespace = NamespaceGuard::new();
    let one_up = format!("nats://127.0.0.1:{down}, {}", nats_url());
    let run = resourcify(
        &url_of(&db),
        &one_up,
        namespace.namespace().as_str(),
        &["status"],
    )
    .await;
    assert!(run.succeeded, "{run:#?}");
    assert!(run.stdout.contains("users"), "{run:#?}");

    let none_up =
        format!("nats://operator:{PASSWORD}@127.0.0.1:{down},nats://127.0.0.1:{also_down}");
    let run = resourcify(
        &url_of(&db),
        &none_up,
        namespace.namespace().as_str(),
        &["status"],
    )
    .await;
    assert_names_the_address(&run, "NATS", down);
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{also_down}")),
        "{run:#?}"
    );
}

/// Appends a few users and their resources; returns the head of the log.
async fn some_history(store: &EventStore) -> u64 {
    let history = SyntheticHistory::new(20, 200, 0, "cli");
    history
        .append(store)
        .await
        .expect("the log takes the events");
    store.head().await.unwrap()
}

/// Lines a default run must not show: Postgres notices, and the NATS
/// client's (or anyone's) info lines.
fn assert_quiet(run: &Run) {
    for line in run.stderr.lines().chain(run.stdout.lines()) {
        assert!(
            !line.contains("NOTICE") && !line.contains("notice") && !line.contains("INFO"),
            "{line:?} in {run:#?}"
        );
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_replay_of_everything_ends_each_projection_at_100_percent_and_says_nothing_else(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let guard = NamespaceGuard::new();
    let namespace = guard.namespace().as_str();
    let client = async_nats::connect(nats_url()).await.unwrap();
    let store = EventStore::open(client, EventStoreSettings::new(guard.namespace().clone()))
        .await
        .unwrap();
    let head = some_history(&store).await;
    let database_url = url_of(&db);

    let run = resourcify(&database_url, &nats_url(), namespace, &["replay", "--all"]).await;
    assert!(run.succeeded, "{run:#?}");
    assert_quiet(&run);
    // stderr is not a terminal here: plain lines, never drawn over.
    assert!(!run.stderr.contains('\r'), "{run:#?}");
    for projection in Projection::ALL {
        let name = projection.name();
        let last = run
            .stderr
            .lines()
            .rfind(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}: {run:#?}"));
        assert!(
            last.contains(&format!(" {head}/{head} 100%")) && last.contains("done in"),
            "{name}: {last:?}"
        );
        assert!(
            run.stdout
                .contains(&format!("replayed {name}: {head} events")),
            "{run:#?}"
        );
    }

    // The other commands print their answer alone. A projector runs, as
    // it would in production, so that the grant's view catches up.
    let projector = Projector::start(&database_url, namespace);
    let status = resourcify(&database_url, &nats_url(), namespace, &["status"]).await;
    assert!(status.succeeded, "{status:#?}");
    assert_eq!(status.stderr, "", "{status:#?}");
    assert!(status.stdout.starts_with("projection"), "{status:#?}");
    let grant = resourcify(
        &database_url,
        &nats_url(),
        namespace,
        &["admin", "grant", "user0"],
    )
    .await;
    assert!(grant.succeeded, "{grant:#?}");
    assert_eq!(grant.stderr, "", "{grant:#?}");
    assert!(
        grant.stdout.starts_with("granted admin for user0"),
        "{grant:#?}"
    );

    // -v asks for more.
    let verbose = resourcify(&database_url, &nats_url(), namespace, &["status", "-v"]).await;
    assert!(verbose.succeeded, "{verbose:#?}");
    assert!(verbose.stderr.contains("INFO"), "{verbose:#?}");
    drop(projector);
}

/// `resourcify serve --role projector`, killed when dropped.
struct Projector(Child);

impl Projector {
    fn start(database_url: &str, namespace: &str) -> Self {
        let binary = env!("CARGO_BIN_EXE_resourcify");
        let child = projector_process(binary, database_url, namespace)
            .env("RESOURCIFY_JWT_SECRET", SIGNING_SECRET)
            .spawn()
            .expect("the projector starts");
        Self(child)
    }
}

impl Drop for Projector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ctrl-C (SIGINT) or SIGTERM ends `serve`: the server finishes what is in
/// flight, every other task ends, and the process exits with success.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn serve_exits_on_an_interrupt_or_a_termination(_: PgPoolOptions, db: PgConnectOptions) {
    let namespace = NamespaceGuard::new();
    for signal in ["-INT", "-TERM"] {
        let port = a_port_nobody_listens_on();
        let mut serve = serve_process(
            env!("CARGO_BIN_EXE_resourcify"),
            &url_of(&db),
            namespace.namespace().as_str(),
        )
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve starts");
        if let Err(failure) = until_listening(&mut serve, Duration::from_secs(60)).await {
            let _ = serve.kill();
            panic!("{failure}");
        }
        let pid = serve.id().to_string();
        let interrupted = Command::new("kill")
            .args([signal, pid.as_str()])
            .status()
            .unwrap();
        assert!(interrupted.success());
        let asked = Instant::now();
        let exited = tokio::task::spawn_blocking(move || serve.wait());
        let status = match tokio::time::timeout(Duration::from_secs(15), exited).await {
            Ok(status) => status.unwrap().unwrap(),
            Err(_) => {
                Command::new("kill")
                    .args(["-KILL", pid.as_str()])
                    .status()
                    .unwrap();
                panic!("serve was still running 15 s after {signal}");
            }
        };
        assert!(status.success(), "{status:?}");
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "took {:?}",
            asked.elapsed()
        );
    }
}
