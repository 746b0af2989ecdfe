//! `just engines`: the production layout on one machine, for trying a
//! deployment by hand. Starts a 3-server NATS cluster with JetStream and a
//! PostgreSQL primary with a streaming replica, each in a scratch directory
//! on free loopback ports (the tests' own engines), prints the settings a
//! node needs to use them, and stops them all on Ctrl-C.

use resourcify_testkit::engines::{NatsCluster, PostgresServer};

#[tokio::main]
async fn main() {
    let cluster = NatsCluster::start(3);
    cluster.wait_for_jetstream().await;
    let primary = PostgresServer::start();
    let database = primary.migrated_database("resourcify").await;
    let replica = PostgresServer::replica_of(&primary);
    let url =
        |options: &sqlx::postgres::PgConnectOptions| resourcify_testkit::database_url(options);
    println!("# Engines up; Ctrl-C stops them and removes their data.");
    println!("NATS_URL={}", cluster.urls());
    println!("RESOURCIFY_REPLICAS=3");
    println!("DATABASE_URL={}", url(&database));
    println!(
        "RESOURCIFY_READ_DATABASE_URL={}",
        url(&replica.options("resourcify"))
    );
    tokio::signal::ctrl_c()
        .await
        .expect("Ctrl-C can be awaited");
    // Dropping them stops the servers and removes their directories.
    drop((replica, primary, cluster));
}
