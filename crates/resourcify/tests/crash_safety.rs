//! Crash safety: a projector process killed with SIGKILL at random moments
//! while it projects tens of thousands of events, and restarted, leaves
//! views identical to a clean replay of the same log.

use std::process::Child;
use std::time::Duration;

use resourcify_app::ViewPositions;
use resourcify_eventstore::{EventStore, EventStoreSettings};
use resourcify_projector::{Projection, ReplaySettings, replay};
use resourcify_readmodel::ReadModel;
use resourcify_testkit::{
    NamespaceGuard, SyntheticHistory, nats_url, projector_process, views_digest,
};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const USERS: usize = 500;
const RESOURCES: usize = 15_000;
const VOTES: usize = 10_000;

/// Users, their resources and votes on them, as the command side would append them.
async fn fill(store: &EventStore) {
    let history = SyntheticHistory::new(USERS, RESOURCES, VOTES, "crash");
    history
        .append(store)
        .await
        .expect("the log takes the events");
}

fn start_projector(database_url: &str, namespace: &str) -> Child {
    projector_process(env!("CARGO_BIN_EXE_resourcify"), database_url, namespace)
        .spawn()
        .expect("the projector starts")
}

/// A random number in `range`, without a random-number crate.
fn random_in(range: std::ops::Range<u64>) -> u64 {
    let spread = range.end - range.start;
    range.start + (Uuid::new_v4().as_u128() % u128::from(spread)) as u64
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn views_after_repeated_kills_equal_a_clean_replay(_: PgPoolOptions, db: PgConnectOptions) {
    let guard = NamespaceGuard::new();
    let client = async_nats::connect(nats_url()).await.unwrap();
    let store = EventStore::open(client, EventStoreSettings::new(guard.namespace().clone()))
        .await
        .unwrap();
    fill(&store).await;
    let head = store.head().await.unwrap();
    assert_eq!(head as usize, USERS + RESOURCES + VOTES);

    let database_url = resourcify_testkit::database_url(&db);
    let pool = PgPool::connect_with(db.clone()).await.unwrap();
    let reads = ReadModel::new(pool.clone(), Duration::from_secs(5));

    // Killed several times, each time once the resources view has gone a
    // random number of events further: mid-batch of the next one.
    let positions = ViewPositions::new(reads.clone());
    let mut kills = 0;
    loop {
        let reached = reads.projection_checkpoint("resources").await.unwrap();
        let target = reached + random_in(500..3_000);
        if kills == 6 || target >= head {
            break;
        }
        let mut projector = start_projector(&database_url, guard.namespace().as_str());
        positions
            .wait_for(Projection::Resources, target, Duration::from_secs(120))
            .await
            .expect("the projector makes progress");
        projector.kill().expect("SIGKILL");
        projector.wait().unwrap();
        kills += 1;
    }
    assert!(
        kills >= 2,
        "the log was projected too fast to be interrupted"
    );
    let mut projector = start_projector(&database_url, guard.namespace().as_str());
    for projection in Projection::ALL {
        positions
            .wait_for(projection, head, Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| panic!("{} did not catch up: {e}", projection.name()));
    }
    projector.kill().unwrap();
    projector.wait().unwrap();
    let survived = views_digest(&pool).await;

    // A clean build of every projection from the same log.
    let settings = ReplaySettings {
        restart: true,
        ..ReplaySettings::default()
    };
    for projection in Projection::ALL {
        replay(&store, &db, projection, &settings, |_| {})
            .await
            .unwrap();
    }
    let clean = views_digest(&pool).await;
    assert_eq!(survived, clean, "after {kills} kills");
    let resources = survived.iter().find(|(t, _, _)| t == "resources").unwrap();
    assert_eq!(resources.1 as usize, RESOURCES);
}
