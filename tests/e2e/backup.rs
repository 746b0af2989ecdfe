//! A backup of the stream and every bucket (`resourcify admin backup`),
//! restored into another NATS server (`admin restore`): the log comes back
//! position for position, gaps and headers included; a node on it, over an
//! empty database, builds the same views; erased members stay erased,
//! sealed data still opens, names stay reserved and an idempotency key
//! still answers its first result. Both NATS servers and the second
//! database are the test's own.

use async_nats::jetstream::{self, stream::RawMessageErrorKind};
use reqwest::Method;
use resourcify::NodeSettings;
use resourcify_app::Passwords;
use resourcify_domain::user::User;
use resourcify_eventstore::{EventStore, EventStoreSettings, Leases, Namespace, ReservationBook};
use resourcify_testkit::engines::{NatsCluster, NatsServer, PostgresServer, ScratchDir};
use resourcify_testkit::{
    NamespaceGuard, PASSWORD, SyntheticHistory, spawn_app_configured, views_digest,
};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Runs `resourcify <command…>` against the NATS at `nats_url`, as an
/// operator would.
async fn operator_on(
    nats_url: &str,
    namespace: &Namespace,
    command: &[&str],
) -> anyhow::Result<()> {
    use clap::Parser;
    let mut args = vec![
        "resourcify",
        "--nats-url",
        nats_url,
        "--namespace",
        namespace.as_str(),
    ];
    args.extend(command);
    resourcify::cli::Cli::try_parse_from(args)?.run().await
}

/// Every position of `stream` from 1 to its last: the message as text
/// (subject, time, headers, payload), or `None` for a gap.
async fn raw_stream(nats_url: &str, stream: &str) -> Vec<Option<String>> {
    let js = jetstream::new(async_nats::connect(nats_url).await.unwrap());
    let stream = js.get_stream(stream).await.unwrap();
    let last = stream.cached_info().state.last_sequence;
    let mut messages = Vec::new();
    for sequence in 1..=last {
        match stream.get_raw_message(sequence).await {
            Ok(message) => {
                let mut headers: Vec<String> = message
                    .headers
                    .iter()
                    .map(|(name, values)| format!("{name:?}={values:?}"))
                    .collect();
                headers.sort();
                messages.push(Some(format!(
                    "{} {} {headers:?} {}",
                    message.subject,
                    message.time,
                    String::from_utf8_lossy(&message.payload)
                )));
            }
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => messages.push(None),
            Err(e) => panic!("{stream:?} at {sequence}: {e}"),
        }
    }
    messages
}

const KEPT_URL: &str = "https://example.org/kept-through-a-restore";

fn kept_submission() -> Value {
    json!({
        "url": KEPT_URL,
        "title": "Kept through a restore",
        "kind": "article",
        "tags": ["ops"],
    })
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_restored_backup_gives_back_the_same_log_and_the_same_views(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let original_nats = NatsServer::start();
    let original_url = original_nats.url();
    let app = spawn_app_configured(db, |s: &mut NodeSettings| s.nats_url = original_url).await;
    let namespace = app.namespace.clone();

    // A history: members, resources, votes, comments; a member written in
    // clear before sealing, erased (their messages leave gaps); a sealed
    // member erased (their key is destroyed).
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let old_timer = Uuid::now_v7();
    let hash = Passwords
        .hash(&resourcify_domain::Secret::new(PASSWORD))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let in_clear = [
        crate::erasure::append_in_clear(
            &app,
            old_timer,
            "resourcify.user.registered.v1",
            json!({
                "user_id": old_timer, "username": "old_timer", "email": "old.timer@example.org",
                "password_hash": hash, "registered_at": now,
            }),
        )
        .await,
        crate::erasure::append_in_clear(
            &app,
            old_timer,
            "resourcify.user.profile-updated.v1",
            json!({
                "user_id": old_timer, "display_name": "Old Timer", "bio": "", "website": "",
                "at": now,
            }),
        )
        .await,
    ];
    let countess = app.register("countess").await;
    let profile = json!({"display_name": "Countess of Lovelace", "bio": "Notes"});
    let updated = app.patch("/v1/me", &profile, &countess.token).await;
    assert_eq!(updated.status, 200, "{updated:#?}");
    let old_login = app.login("old_timer", PASSWORD, in_clear[1]).await;
    assert_eq!(old_login.status, 200, "{old_login:#?}");
    let old_token = old_login.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.submit(&old_token, json!({})).await.status, 201);
    let by_countess = app.submit(&countess.token, json!({})).await;
    let countess_resource = by_countess.id();
    let commented = app
        .post(
            &format!("/v1/resources/{countess_resource}/comments"),
            &json!({"body": "A comment that stays, its author erased"}),
            Some(&countess.token),
        )
        .await;
    assert_eq!(commented.status, 201, "{commented:#?}");
    let submit_kept = || {
        app.request(
            Method::POST,
            "/v1/resources",
            Some(&kept_submission()),
            Some(&ada.token),
            Some("kept-through-a-restore"),
        )
    };
    let kept = submit_kept().await;
    assert_eq!(kept.status, 201, "{kept:#?}");
    let kept_id = kept.id();
    assert_eq!(
        app.put(&format!("/v1/resources/{kept_id}/vote"), &grace.token)
            .await
            .status,
        200
    );
    let replied = app
        .post(
            &format!("/v1/resources/{kept_id}/comments"),
            &json!({"body": "Grace was here"}),
            Some(&grace.token),
        )
        .await;
    assert_eq!(replied.status, 201, "{replied:#?}");
    for token in [&old_token, &countess.token] {
        let deleted = app.delete("/v1/me", token).await;
        assert_eq!(deleted.status, 200, "{deleted:#?}");
    }
    app.wait_until_caught_up().await;
    // The live views are what the log builds: an erased member leaves no
    // author row that a replay (which never sees the registration the
    // erasure deleted) would not make.
    let live = views_digest(app.reads.pool()).await;
    app.operator(&["replay", "--all"]).await.unwrap();
    let head = app.wait_until_caught_up().await;
    let views = views_digest(app.reads.pool()).await;
    assert_eq!(live, views, "the live views differ from a replay");

    // The backup: the stream and every bucket there is, with a manifest.
    let dir = ScratchDir::new("backup");
    let to = dir.path().display().to_string();
    app.operator(&["admin", "backup", "--to", &to])
        .await
        .unwrap();
    let manifest = resourcify_eventstore::read_manifest(dir.path())
        .await
        .unwrap();
    let events = &manifest.streams[0];
    assert_eq!(events.stream, namespace.stream_name());
    assert_eq!(events.last_sequence, head);
    assert_eq!(events.deleted, 2, "the erased messages in clear");
    assert_eq!(events.messages, head - 2);
    let held: Vec<&str> = manifest.streams.iter().map(|s| s.holds.as_str()).collect();
    for bucket in ["usernames", "emails", "resource-urls", "idempotency-keys"] {
        assert!(held.contains(&bucket), "{bucket} in {held:?}");
    }
    assert!(held.contains(&"member-keys") && held.contains(&Leases::PROJECTORS));
    let refused = app.operator(&["admin", "backup", "--to", &to]).await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("not empty")),
        "a backup never overwrites another"
    );

    // The restore, into a NATS server that has never seen the namespace.
    let restored_nats = NatsServer::start();
    let from = ["admin", "restore", "--from", &to];
    operator_on(&restored_nats.url(), &namespace, &from)
        .await
        .unwrap();
    let again = operator_on(&restored_nats.url(), &namespace, &from).await;
    assert!(
        again.is_err_and(|e| e.to_string().contains("hold messages already")),
        "a restore refuses to overwrite a stream with messages"
    );
    let forced = [&from[..], &["--force"]].concat();
    operator_on(&restored_nats.url(), &namespace, &forced)
        .await
        .unwrap();
    let elsewhere = Namespace::parse("elsewhere").unwrap();
    let wrong = operator_on(&restored_nats.url(), &elsewhere, &from).await;
    assert!(wrong.is_err_and(|e| e.to_string().contains("namespace")));

    // The same log, position for position (gaps, headers, times, payloads),
    // and the same buckets but the leases, which the original node renews.
    for copy in &manifest.streams {
        if copy.holds.ends_with("-leases") {
            continue;
        }
        let original = raw_stream(&original_nats.url(), &copy.stream).await;
        let restored = raw_stream(&restored_nats.url(), &copy.stream).await;
        assert_eq!(
            original.len(),
            copy.last_sequence as usize,
            "{}",
            copy.stream
        );
        assert!(
            original == restored,
            "{} differs after the restore",
            copy.stream
        );
    }
    let log = raw_stream(&restored_nats.url(), &namespace.stream_name()).await;
    for position in in_clear {
        assert_eq!(log[position as usize - 1], None, "erased at {position}");
    }

    // A node on the restored NATS and an empty database builds the same views.
    let postgres = PostgresServer::start();
    let database = postgres.migrated_database("restored").await;
    let restored_url = restored_nats.url();
    let restored = spawn_app_configured(database, |s: &mut NodeSettings| {
        s.nats_url = restored_url;
        s.namespace = namespace.clone();
    })
    .await;
    assert_eq!(restored.wait_until_caught_up().await, head);
    assert_eq!(views_digest(restored.reads.pool()).await, views);

    // The next write lands right after the backup's last position; the
    // session ada opened before the backup still holds.
    let next = restored.submit(&ada.token, json!({})).await;
    assert_eq!(next.status, 201, "{next:#?}");
    assert_eq!(next.body["position"], head + 1);
    // The erased member stays erased; a sealed member's data still opens.
    let keys = restored.store.member_keys();
    assert!(!keys.has_key(countess.user_id).await.unwrap());
    let erased = restored
        .store
        .load::<User>(countess.user_id)
        .await
        .unwrap()
        .state;
    assert!(erased.deleted && erased.email.ends_with("@erased.invalid"));
    let kept_member = restored.store.load::<User>(grace.user_id).await.unwrap();
    assert_eq!(kept_member.state.email, "grace@example.org");
    let login = restored.login("grace@example.org", PASSWORD, head).await;
    assert_eq!(login.status, 200, "{login:#?}");
    // Names are still reserved.
    let same_name = restored
        .post(
            "/v1/users",
            &json!({"username": "ada", "email": "another.ada@example.org", "password": PASSWORD}),
            None,
        )
        .await;
    same_name.assert_problem(409);
    let same_url = restored.submit(&grace.token, kept_submission()).await;
    same_url.assert_problem(409);
    // The idempotency key answers its first result.
    let replayed = restored
        .request(
            Method::POST,
            "/v1/resources",
            Some(&kept_submission()),
            Some(&ada.token),
            Some("kept-through-a-restore"),
        )
        .await;
    assert_eq!(replayed.status, 201, "{replayed:#?}");
    assert_eq!(replayed.body["id"], kept.body["id"]);
    assert_eq!(replayed.body["position"], kept.body["position"]);
    let shown = restored.get(&format!("/v1/resources/{kept_id}")).await;
    assert_eq!(shown.body["votes"], 1, "{shown:#?}");
}

/// A single server's backup restored into a three-server cluster with
/// `--replicas 3`, as a deployment grows: the same log, replicated.
#[tokio::test]
async fn a_backup_restores_into_a_cluster_with_three_replicas() {
    let single = NatsServer::start();
    let guard = NamespaceGuard::new();
    let namespace = guard.namespace().clone();
    let store = EventStore::open(
        async_nats::connect(single.url()).await.unwrap(),
        EventStoreSettings::new(namespace.clone()),
    )
    .await
    .unwrap();
    ReservationBook::open(&store).await.unwrap();
    SyntheticHistory::new(5, 20, 30, "cluster-restore")
        .append(&store)
        .await
        .unwrap();
    let dir = ScratchDir::new("backup");
    let path = dir.path().display().to_string();
    operator_on(
        &single.url(),
        &namespace,
        &["admin", "backup", "--to", &path],
    )
    .await
    .unwrap();

    let cluster = NatsCluster::start(3);
    cluster.wait_for_jetstream().await;
    let restore = ["admin", "restore", "--from", &path, "--replicas", "3"];
    operator_on(&cluster.urls(), &namespace, &restore)
        .await
        .unwrap();
    let stream = namespace.stream_name();
    let restored = raw_stream(&cluster.nodes[0].url(), &stream).await;
    assert_eq!(restored.len(), 55);
    assert!(restored == raw_stream(&single.url(), &stream).await);
    let js = jetstream::new(async_nats::connect(cluster.nodes[1].url()).await.unwrap());
    let info = js.get_stream(&stream).await.unwrap().cached_info().clone();
    assert_eq!(info.config.num_replicas, 3);
    assert_eq!(
        info.cluster.map(|c| c.replicas.len()),
        Some(2),
        "a leader and two followers"
    );
}
