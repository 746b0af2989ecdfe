//! No projector batch reads a whole table: a batch costs what its events
//! touch, however large the read models have grown. Every event type the
//! projections read is applied, about rows of a seeded database, and each
//! table's access counters for that transaction are checked.

use std::path::PathBuf;

use bytes::Bytes;
use resourcify_domain::EventType;
use resourcify_domain::personal::PersonalFields;
use resourcify_eventstore::RawEvent;
use resourcify_projector::{Projection, apply_batch};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::no_scans::{BOUNDED_TABLES, seed};

/// Events of each type in the batch.
const COPIES: usize = 20;

/// Votes, then submissions, in the batch besides: busy stretches of the
/// log, each as many events as a live projector applies in one
/// transaction. A batch of votes this size is what led Postgres to read
/// every list row (ADR 11).
const VOTES: usize = 2_000;
const SUBMISSIONS: usize = 2_000;

/// Rows a batch may read through the indexes of one table, per event in it:
/// a handful each (a resource's five list rows, an author's resources). A table
/// smaller than that may be read whole: the planner reads it whole only
/// while that is cheaper than probing it, and probes once it has grown.
const ROWS_READ_PER_EVENT: i64 = 8;

/// Ids of rows the seed made, to aim the events at.
struct Seeded {
    users: Vec<Uuid>,
    resources: Vec<Uuid>,
    comments: Vec<Uuid>,
    sources: Vec<Uuid>,
    sessions: Vec<Uuid>,
}

async fn seeded(pool: &PgPool) -> Seeded {
    let ids = |sql: &'static str| async move {
        sqlx::query_scalar::<_, Uuid>(sql)
            .bind((2 * COPIES + VOTES) as i64)
            .fetch_all(pool)
            .await
            .unwrap()
    };
    Seeded {
        users: ids("SELECT user_id FROM user_credentials ORDER BY user_id LIMIT $1").await,
        resources: ids(
            "SELECT id FROM resources WHERE source_id IS NULL AND NOT hidden AND NOT retracted
             ORDER BY id LIMIT $1",
        )
        .await,
        comments: ids("SELECT id FROM comments ORDER BY id LIMIT $1").await,
        sources: ids("SELECT id FROM news_sources WHERE NOT removed ORDER BY id LIMIT $1").await,
        sessions: ids("SELECT session_id FROM sessions WHERE ended_at IS NULL ORDER BY 1 LIMIT $1")
            .await,
    }
}

fn fixture(event_type: EventType) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/events")
        .join(event_type.name)
        .join(format!("v{}.json", event_type.version));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The `k`th event of `event_type`: its golden fixture, with every id
/// replaced by a seeded row's (or a new one, for the event that creates
/// the row). Events that take rows away use rows no other event uses.
fn aimed(event_type: EventType, k: usize, seeded: &Seeded) -> Value {
    let mut event = fixture(event_type);
    let fields = event.as_object_mut().unwrap();
    let apart = |ids: &[Uuid]| ids[COPIES + k];
    let fresh = Uuid::new_v4();
    let mut set = |field: &str, value: Value| {
        if fields.contains_key(field) {
            fields.insert(field.to_owned(), value);
        }
    };
    for field in [
        "author_id",
        "moderator_id",
        "edited_by",
        "retracted_by",
        "granted_by",
        "revoked_by",
        "suspended_by",
        "reinstated_by",
        "added_by",
        "updated_by",
        "removed_by",
        "requested_by",
        "followee_id",
    ] {
        set(field, json!(seeded.users[(k + 1) % COPIES]));
    }
    set("user_id", json!(seeded.users[k]));
    set("resource_id", json!(seeded.resources[k]));
    set("comment_id", json!(seeded.comments[k]));
    set("source_id", json!(seeded.sources[k]));
    set("session_id", json!(seeded.sessions[k]));
    set("parent_id", Value::Null);
    match event_type.name {
        "user.registered" => {
            set("user_id", json!(fresh));
            set("username", json!(format!("batchuser{k}")));
            set("email", json!(format!("batchuser{k}@example.org")));
        }
        "user.deleted" => set("user_id", json!(apart(&seeded.users))),
        "session.started" => set("session_id", json!(fresh)),
        "resource.submitted" | "news-item.published" => {
            set("resource_id", json!(fresh));
            set("url", json!(format!("https://example.org/batch/{k}")));
            set(
                "canonical_url",
                json!(format!("https://example.org/batch/{k}")),
            );
            set("guid", json!(format!("batch-{k}")));
        }
        "resource.retracted" => set("resource_id", json!(apart(&seeded.resources))),
        "comment.posted" => set("comment_id", json!(fresh)),
        "comment.deleted" | "comment.removed" => {
            set("comment_id", json!(apart(&seeded.comments)));
        }
        "news-source.added" => set("source_id", json!(fresh)),
        "news-source.removed" => set("source_id", json!(apart(&seeded.sources))),
        _ => {}
    }
    event
}

/// `VOTES` votes for resources no other event is about.
fn vote(k: usize, seeded: &Seeded) -> Value {
    json!({
        "resource_id": seeded.resources[2 * COPIES + k],
        "user_id": seeded.users[k % COPIES],
        "at": "2026-11-27T10:00:00Z",
    })
}

/// `SUBMISSIONS` new resources by members the seed made.
fn submission(k: usize, seeded: &Seeded) -> Value {
    let mut event = fixture(EventType::RESOURCE_SUBMITTED);
    let url = format!("https://example.org/submitted/{k}");
    for (field, value) in [
        ("resource_id", json!(Uuid::new_v4())),
        ("author_id", json!(seeded.users[k % COPIES])),
        ("url", json!(url)),
        ("canonical_url", json!(url)),
    ] {
        event[field] = value;
    }
    event
}

/// `COPIES` events of every type written today, type after type, then
/// `VOTES` votes and `SUBMISSIONS` submissions; placed after every seeded
/// checkpoint.
fn batch(seeded: &Seeded) -> Vec<RawEvent> {
    // Sealed types as the projectors see them: opened, in their plain form.
    let every_type = EventType::ALL
        .iter()
        .map(|&t| PersonalFields::of_sealed(t).map_or(t, |p| p.plain))
        .flat_map(|event_type| (0..COPIES).map(move |k| (event_type, k)))
        .map(|(event_type, k)| (event_type, aimed(event_type, k, seeded)));
    let votes = (0..VOTES).map(|k| (EventType::VOTE_CAST, vote(k, seeded)));
    let submissions =
        (0..SUBMISSIONS).map(|k| (EventType::RESOURCE_SUBMITTED, submission(k, seeded)));
    every_type
        .chain(votes)
        .chain(submissions)
        .enumerate()
        .map(|(i, (event_type, event))| {
            let payload = serde_json::to_vec(&event).unwrap();
            RawEvent::from_parts(
                100_000 + i as u64,
                &format!("batch.{}", event_type.name),
                Some(&event_type.ce_type()),
                Bytes::from(payload),
            )
        })
        .collect()
}

/// (table, rows in it, sequential scans, rows read through its indexes)
/// for what this transaction did.
async fn reads_in_transaction(tx: &mut PgConnection) -> Vec<(String, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT s.relname::text, c.reltuples::bigint, s.seq_scan, coalesce(s.idx_tup_fetch, 0)
         FROM pg_stat_xact_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname = 'public' AND s.relname NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(tx)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn no_projector_batch_reads_a_whole_read_model_table(pool: PgPool) {
    seed(&pool).await;
    let events = batch(&seeded(&pool).await);
    let most_rows_read = ROWS_READ_PER_EVENT * events.len() as i64;

    let mut offenders = Vec::new();
    for projection in Projection::ALL {
        // A connection of its own: a backend's counters include its earlier
        // transactions until it reports them, at most once a second.
        let mut conn = PgConnection::connect_with(&pool.connect_options())
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        let outcome = apply_batch(&mut tx, projection, &events).await.unwrap();
        assert_eq!(outcome.dead_lettered, 0, "{projection:?}: {outcome:?}");
        assert!(outcome.applied > 0, "{projection:?} applied nothing");
        let reads = reads_in_transaction(&mut tx).await;
        tx.rollback().await.unwrap();
        assert!(
            reads.iter().any(|(_, _, scans, rows)| *scans + *rows > 0),
            "{projection:?}: no reads counted, so nothing was checked"
        );
        for (table, size, seq_scans, rows) in reads {
            if BOUNDED_TABLES.contains(&table.as_str()) {
                continue;
            }
            let scanned_a_large_table = seq_scans > 0 && size > most_rows_read;
            if scanned_a_large_table || rows > most_rows_read {
                offenders.push(format!(
                    "{projection:?}: {table} ({size} rows): {seq_scans} sequential scans, \
                     {rows} rows read through indexes (at most {most_rows_read} for {} events)",
                    events.len()
                ));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
