//! A node's projectors and ingester run on threads of their own at a lower
//! CPU priority than the threads that serve requests (ADR 25), seen from
//! outside: the threads of a `serve` process, as Linux lists them.

#![cfg(target_os = "linux")]

use std::process::Child;
use std::time::Duration;

use resourcify_testkit::{NamespaceGuard, database_url, serve_process, until_listening};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// What `priority::BackgroundRuntime` names its threads, and their nice value.
const BACKGROUND_THREAD: &str = "background";
const BACKGROUND_NICENESS: i32 = 10;
/// What tokio names the request runtime's threads.
const REQUEST_THREAD: &str = "tokio-rt-worker";

/// Kills the server however the test ends.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(db: &PgConnectOptions, namespace: &str, role: &str) -> Serve {
    let database_url = database_url(db);
    let mut child = serve_process(env!("CARGO_BIN_EXE_resourcify"), &database_url, namespace)
        .args(["--role", role, "--listen", "127.0.0.1:0"])
        .spawn()
        .expect("serve starts");
    let waited = until_listening(&mut child, Duration::from_secs(60)).await;
    let serve = Serve(child);
    waited.expect("serve listens");
    serve
}

/// Each thread of process `pid`: its name and its nice value.
fn threads(pid: u32) -> Vec<(String, i32)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
    tasks
        .map(|task| {
            let stat = std::fs::read_to_string(task.expect("a thread").path().join("stat"))
                .expect("the thread's stat");
            // "tid (name) state ppid …": the name may hold spaces, so the
            // fields are counted from its closing parenthesis; nice is the
            // 19th field, the 17th after the name.
            let (name, rest) = stat
                .split_once(" (")
                .and_then(|(_, rest)| rest.rsplit_once(") "))
                .expect("a stat line");
            let nice = rest
                .split_whitespace()
                .nth(16)
                .and_then(|nice| nice.parse().ok())
                .expect("a nice value");
            (name.to_owned(), nice)
        })
        .collect()
}

fn nice_of(threads: &[(String, i32)], name: &str) -> Vec<i32> {
    threads
        .iter()
        .filter(|(thread, _)| thread == name)
        .map(|(_, nice)| *nice)
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_projectors_and_the_ingester_run_below_the_requests(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let namespace = NamespaceGuard::new();
    let own = own_niceness();

    let every_role = serve(&db, namespace.namespace().as_str(), "all").await;
    let seen = threads(every_role.0.id());
    let background = nice_of(&seen, BACKGROUND_THREAD);
    // Its two workers, and any blocking-pool thread it started since.
    assert!(
        background.len() >= 2
            && background
                .iter()
                .all(|nice| *nice == BACKGROUND_NICENESS.max(own)),
        "the background threads yield: {seen:?}"
    );
    let requests = nice_of(&seen, REQUEST_THREAD);
    assert!(
        !requests.is_empty() && requests.iter().all(|nice| *nice == own),
        "the request threads keep the process's priority: {seen:?}"
    );
    drop(every_role);

    // A node with no background work starts no such runtime.
    let api_only = serve(&db, namespace.namespace().as_str(), "api").await;
    let seen = threads(api_only.0.id());
    assert!(nice_of(&seen, BACKGROUND_THREAD).is_empty(), "{seen:?}");
}

/// This process's nice value, which the server inherits.
fn own_niceness() -> i32 {
    threads(std::process::id())
        .first()
        .map(|(_, nice)| *nice)
        .expect("this process has a thread")
}
