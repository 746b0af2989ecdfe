//! Crypto-shredding: a member's personal fields are in the log only sealed
//! with their own key; `DELETE /v1/me` destroys the key, and erases what
//! was written in clear before sealing, so that neither the stream, nor a
//! full replay, nor any view holds them again, while everything else stays.

use async_nats::HeaderMap;
use async_nats::jetstream::message::PublishMessage;
use resourcify_app::Passwords;
use resourcify_domain::user::User;
use resourcify_eventstore::{
    EventStore, EventStoreSettings, Reservation, ReservationBook, Reserved,
};
use resourcify_testkit::{NamespaceGuard, PASSWORD, TestApp, nats_url, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Every message in the stream, headers and payload, as text.
async fn raw_log(app: &TestApp) -> Vec<(u64, String, String)> {
    let stream = app
        .store
        .jetstream()
        .get_stream(app.namespace.stream_name())
        .await
        .unwrap();
    let head = app.store.head().await.unwrap();
    let mut log = Vec::new();
    for position in 1..=head {
        let Ok(message) = stream.get_raw_message(position).await else {
            continue; // erased
        };
        let ce_type = message
            .headers
            .get("ce-type")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let text = format!(
            "{:?} {}",
            message.headers,
            String::from_utf8_lossy(&message.payload)
        );
        log.push((position, ce_type, text));
    }
    log
}

/// The rows of every table in the database (views, checkpoints, dead
/// letters, replay schemas) whose text contains `needle`.
async fn rows_holding(app: &TestApp, needle: &str) -> Vec<String> {
    let pool = app.reads.pool();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema, table_name FROM information_schema.tables
         WHERE table_type = 'BASE TABLE'
           AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut found = Vec::new();
    for (schema, table) in tables {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{schema}\".\"{table}\" t
             WHERE row_to_json(t)::text ILIKE '%' || $1 || '%'"
        )))
        .bind(needle)
        .fetch_one(pool)
        .await
        .unwrap();
        if count > 0 {
            found.push(format!("{schema}.{table}"));
        }
    }
    found
}

async fn replay_everything(app: &TestApp) {
    app.operator(&["replay", "--all"]).await.unwrap();
}

const SECRETS: [&str; 6] = [
    "ada.lovelace@example.org",
    "Countess of Lovelace",
    "Analytical Engine notes",
    "ada-lovelace.example",
    "countess_ada",
    "A first comment on the engine",
];

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_erased_member_is_gone_from_the_log_the_replay_and_the_views(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let signed_up = app
        .post(
            "/v1/users",
            &json!({"username": "countess_ada", "email": SECRETS[0], "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(signed_up.status, 201, "{signed_up:#?}");
    let user_id: Uuid = signed_up.body["user_id"].as_str().unwrap().parse().unwrap();
    let login = app
        .login("countess_ada", PASSWORD, signed_up.position())
        .await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let profile = json!({
        "display_name": SECRETS[1],
        "bio": SECRETS[2],
        "website": format!("https://{}/", SECRETS[3]),
    });
    let updated = app.patch("/v1/me", &profile, &token).await;
    assert_eq!(updated.status, 200, "{updated:#?}");
    let grace = app.register("grace").await;
    let submitted = app.submit(&token, json!({})).await;
    let resource = submitted.id();
    app.put(&format!("/v1/resources/{resource}/vote"), &grace.token)
        .await;
    let commented = app
        .post(
            &format!("/v1/resources/{resource}/comments"),
            &json!({"body": SECRETS[5]}),
            Some(&token),
        )
        .await;
    assert_eq!(commented.status, 201, "{commented:#?}");
    let replied = app
        .post(
            &format!("/v1/resources/{resource}/comments"),
            &json!({"body": "Grace replies and stays", "parent_id": commented.body["id"]}),
            Some(&grace.token),
        )
        .await;
    assert_eq!(replied.status, 201, "{replied:#?}");

    // Before: the log holds the personal fields only sealed, the key store
    // holds the key, and through it the store reads them back.
    let before = raw_log(&app).await;
    for (position, ce_type, text) in &before {
        for secret in SECRETS.iter().chain(&["countess_ada"]) {
            assert!(
                !text.contains(secret),
                "{secret} in clear at {position} ({ce_type})"
            );
        }
    }
    let sealed: Vec<_> = before
        .iter()
        .filter(|(_, _, text)| text.contains("\"sealed\":{"))
        .map(|(_, ce_type, _)| ce_type.as_str())
        .collect();
    assert_eq!(
        sealed
            .iter()
            .filter(|t| t.starts_with("resourcify.user.registered.v2"))
            .count(),
        2,
        "{sealed:?}"
    );
    assert!(
        sealed.contains(&"resourcify.user.profile-updated.v2"),
        "{sealed:?}"
    );
    let keys = app.store.member_keys();
    assert!(keys.has_key(user_id).await.unwrap());
    let account = app.store.load::<User>(user_id).await.unwrap().state;
    assert_eq!(account.email, SECRETS[0]);
    assert_eq!(account.profile.display_name, SECRETS[1]);
    app.wait_until_caught_up().await;
    assert!(
        !rows_holding(&app, SECRETS[0]).await.is_empty(),
        "the views have it"
    );

    let deleted = app.delete("/v1/me", &token).await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    app.wait_until_caught_up().await;
    let (resources, votes, comments) = counts(&app).await;

    // After: no key; a fresh reader of the log (another process) opens the
    // member's fields to placeholders; a full replay and every table hold
    // none of them; the resource, the vote and the comment stay.
    assert!(!keys.has_key(user_id).await.unwrap());
    // The operator's erase finishes an erasure cut short; it is safe to
    // repeat, and refuses a member who is not deleted.
    app.operator(&["admin", "erase", &user_id.to_string()])
        .await
        .unwrap();
    let refused = app
        .operator(&["admin", "erase", &grace.user_id.to_string()])
        .await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("only a deleted account")),
        "grace is not deleted"
    );
    assert!(
        app.store
            .member_keys()
            .has_key(grace.user_id)
            .await
            .unwrap()
    );
    let fresh = EventStore::open(
        async_nats::connect(nats_url()).await.unwrap(),
        EventStoreSettings::new(app.namespace.clone()),
    )
    .await
    .unwrap();
    let erased = fresh.load::<User>(user_id).await.unwrap().state;
    assert!(erased.deleted);
    assert!(
        erased.email.ends_with("@erased.invalid"),
        "{}",
        erased.email
    );
    assert_eq!(erased.profile.display_name, "");
    replay_everything(&app).await;
    app.wait_until_caught_up().await;
    for secret in SECRETS.iter().chain(&["countess_ada"]) {
        assert_eq!(
            rows_holding(&app, secret).await,
            Vec::<String>::new(),
            "{secret}"
        );
        for (position, ce_type, text) in raw_log(&app).await {
            assert!(!text.contains(secret), "{secret} at {position} ({ce_type})");
        }
    }
    assert_eq!(counts(&app).await, (resources, votes, comments));
    assert_eq!((resources, votes, comments), (1, 1, 2));
    let shown = app.get(&format!("/v1/resources/{resource}")).await;
    assert_eq!(shown.body["author"]["username"], Value::Null);
    assert_eq!(shown.body["votes"], 1, "{shown:#?}");
    // The erased member's comment keeps its place, without its text; the
    // reply under it is untouched.
    let thread = app.get(&format!("/v1/resources/{resource}/comments")).await;
    let items = thread.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{thread:#?}");
    assert_eq!(items[1]["body"], "Grace replies and stays", "{thread:#?}");
    assert!(!thread.body.to_string().contains(SECRETS[5]));
    // Nor does any key-value bucket keep the names, even as a deleted key.
    for message in raw_buckets(&app.store).await {
        for name in [SECRETS[0], "countess_ada"] {
            for trace in traces_of(name) {
                assert!(!message.contains(&trace), "{trace} in {message}");
            }
        }
    }
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    let pool = app.reads.pool();
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    (
        count("SELECT count(*) FROM resources").await,
        count("SELECT count(*) FROM resource_votes").await,
        count("SELECT count(*) FROM comments").await,
    )
}

/// A member whose events were written before sealing began (version 1, in
/// clear): erasing them erases those messages from the stream, and a full
/// replay steps over the gaps.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_member_written_in_clear_before_sealing_is_erased_too(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let user_id = Uuid::now_v7();
    let hash = Passwords
        .hash(&resourcify_domain::Secret::new(PASSWORD))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let registered = append_in_clear(
        &app,
        user_id,
        "resourcify.user.registered.v1",
        json!({
            "user_id": user_id, "username": "old_timer", "email": "old.timer@example.org",
            "password_hash": hash, "registered_at": now,
        }),
    )
    .await;
    let profile = append_in_clear(
        &app,
        user_id,
        "resourcify.user.profile-updated.v1",
        json!({
            "user_id": user_id, "display_name": "Old Timer Esquire", "bio": "", "website": "",
            "at": now,
        }),
    )
    .await;
    let login = app.login("old_timer", PASSWORD, profile).await;
    assert_eq!(login.status, 200, "{login:#?}");
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let submitted = app.submit(&token, json!({})).await;
    assert_eq!(submitted.status, 201);
    assert!(
        raw_log(&app)
            .await
            .iter()
            .any(|(_, _, t)| t.contains("old.timer@example.org"))
    );

    let deleted = app.delete("/v1/me", &token).await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    let log = raw_log(&app).await;
    let positions: Vec<u64> = log.iter().map(|(p, _, _)| *p).collect();
    assert!(!positions.contains(&registered) && !positions.contains(&profile));
    replay_everything(&app).await;
    app.wait_until_caught_up().await;
    for secret in ["old.timer@example.org", "Old Timer Esquire", "old_timer"] {
        for (position, ce_type, text) in &log {
            assert!(!text.contains(secret), "{secret} at {position} ({ce_type})");
        }
        assert_eq!(
            rows_holding(&app, secret).await,
            Vec::<String>::new(),
            "{secret}"
        );
    }
    assert_eq!(counts(&app).await.0, 1, "the resource stays");
}

/// Appends an event the way the code wrote it before sealing.
pub(crate) async fn append_in_clear(
    app: &TestApp,
    user_id: Uuid,
    ce_type: &str,
    payload: Value,
) -> u64 {
    let mut headers = HeaderMap::new();
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", Uuid::now_v7().to_string().as_str());
    headers.insert("ce-source", "/resourcify");
    headers.insert("ce-type", ce_type);
    headers.insert("ce-time", chrono::Utc::now().to_rfc3339().as_str());
    headers.insert("ce-subject", format!("user/{user_id}").as_str());
    headers.insert("content-type", "application/json");
    let subject = app.namespace.aggregate_subject("user", user_id);
    app.store
        .jetstream()
        .send_publish(
            subject,
            PublishMessage::build()
                .payload(serde_json::to_vec(&payload).unwrap().into())
                .headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence
}

/// Every message of every key-value bucket of the namespace (the
/// reservations, the idempotency keys, the leases, the member keys), subject
/// and payload, as text: what anyone who can read NATS sees of them.
async fn raw_buckets(store: &EventStore) -> Vec<String> {
    let mut seen = Vec::new();
    for bucket in resourcify_eventstore::bucket_names() {
        let name = format!("KV_{}", store.namespace().bucket(bucket));
        let Ok(stream) = store.jetstream().get_stream(&name).await else {
            continue;
        };
        let last = stream.get_info().await.unwrap().state.last_sequence;
        for sequence in 1..=last {
            if let Ok(message) = stream.get_raw_message(sequence).await {
                seen.push(format!(
                    "{name} {} {}",
                    message.subject,
                    String::from_utf8_lossy(&message.payload)
                ));
            }
        }
    }
    seen
}

/// A name as the buckets held it before keyed hashes, and in clear.
fn traces_of(name: &str) -> [String; 2] {
    [hex::encode(name), name.to_owned()]
}

/// Usernames and e-mail addresses reserved before keyed hashes (the name,
/// hex-encoded) move to their keyed hash when a node opens the buckets,
/// keep working, and leave no trace of themselves in the buckets' streams.
#[tokio::test]
async fn names_reserved_in_clear_move_to_keyed_hashes_and_leave_no_trace() {
    let guard = NamespaceGuard::new();
    let store = EventStore::open(
        async_nats::connect(nats_url()).await.unwrap(),
        EventStoreSettings::new(guard.namespace().clone()),
    )
    .await
    .unwrap();
    // A first open makes the buckets; then reservations the old way.
    ReservationBook::open(&store).await.unwrap();
    let owner = Uuid::now_v7();
    let names = [
        (Reservation::Username, "old_style_name"),
        (Reservation::Email, "old.style@example.org"),
    ];
    for (kind, name) in names {
        let bucket = store
            .jetstream()
            .get_key_value(guard.namespace().bucket(kind.bucket()))
            .await
            .unwrap();
        bucket
            .create(hex::encode(name), owner.to_string().into())
            .await
            .unwrap();
    }
    assert!(
        raw_buckets(&store)
            .await
            .iter()
            .any(|m| m.contains(&hex::encode(names[1].1))),
        "the old way is visible before"
    );

    let book = ReservationBook::open(&store).await.unwrap();
    for (kind, name) in names {
        assert_eq!(
            book.reserve(kind, name, Uuid::now_v7()).await.unwrap(),
            Reserved::TakenBy(owner),
            "{name}"
        );
    }
    for message in raw_buckets(&store).await {
        for (_, name) in names {
            for trace in traces_of(name) {
                assert!(!message.contains(&trace), "{trace} in {message}");
            }
        }
    }
}
