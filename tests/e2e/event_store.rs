//! The event store against a real JetStream: envelopes, optimistic
//! concurrency, aggregate loads.

use chrono::Utc;
use futures::StreamExt;
use resourcify_domain::DomainEvent;
use resourcify_domain::user::{User, UserEvent, UserRegistered};
use resourcify_eventstore::{EventStore, EventStoreError, EventStoreSettings, NewEvent};
use resourcify_testkit::{NamespaceGuard, nats_url};
use uuid::Uuid;

fn registered(user_id: Uuid, username: &str) -> NewEvent {
    NewEvent {
        event: DomainEvent::User(UserEvent::Registered(UserRegistered {
            user_id,
            username: username.into(),
            email: format!("{username}@example.org"),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            registered_at: Utc::now(),
        })),
        msg_id: Uuid::now_v7().to_string(),
        request_id: Some("req-42".into()),
        time: Utc::now(),
    }
}

async fn open_store(guard: &NamespaceGuard) -> EventStore {
    let client = async_nats::connect(nats_url()).await.unwrap();
    EventStore::open(client, EventStoreSettings::new(guard.namespace().clone()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stale_expected_sequence_is_rejected_and_nothing_is_appended() {
    let guard = NamespaceGuard::new();
    let store = open_store(&guard).await;
    let id = Uuid::now_v7();

    let first = store
        .append("user", id, 0, registered(id, "first"))
        .await
        .unwrap();
    assert_eq!(first.position, 1);
    assert!(!first.duplicate);

    // A writer that loaded the aggregate before `first` still expects 0.
    let stale = store.append("user", id, 0, registered(id, "second")).await;
    assert!(
        matches!(stale, Err(EventStoreError::Conflict { expected: 0 })),
        "{stale:?}"
    );
    // A wrong non-zero expectation is refused as well.
    let wrong = store.append("user", id, 7, registered(id, "third")).await;
    assert!(
        matches!(wrong, Err(EventStoreError::Conflict { expected: 7 })),
        "{wrong:?}"
    );
    assert_eq!(store.head().await.unwrap(), 1);

    // The right expectation goes through, at the next position.
    let next = store
        .append("user", id, first.position, registered(id, "fourth"))
        .await;
    assert_eq!(next.unwrap().position, 2);
}

#[tokio::test]
async fn the_same_message_id_is_stored_once() {
    let guard = NamespaceGuard::new();
    let store = open_store(&guard).await;
    let id = Uuid::now_v7();
    let event = registered(id, "once");

    let first = store.append("user", id, 0, event.clone()).await.unwrap();
    let again = store.append("user", id, 0, event).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.position, first.position);
    assert_eq!(store.head().await.unwrap(), 1);
}

#[tokio::test]
async fn events_carry_cloudevents_headers_on_their_aggregate_subject() {
    let guard = NamespaceGuard::new();
    let store = open_store(&guard).await;
    let id = Uuid::now_v7();
    let new = registered(id, "headers");
    let msg_id = new.msg_id.clone();
    store.append("user", id, 0, new).await.unwrap();

    let stream = store
        .jetstream()
        .get_stream(guard.namespace().stream_name())
        .await
        .unwrap();
    let stored = stream.get_raw_message(1).await.unwrap();
    assert_eq!(
        stored.subject.as_str(),
        format!("{}.events.user.{id}", guard.namespace())
    );
    let header = |name: &str| stored.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header("ce-specversion").as_deref(), Some("1.0"));
    assert_eq!(
        header("ce-type").as_deref(),
        Some("resourcify.user.registered.v2")
    );
    assert_eq!(header("ce-source").as_deref(), Some("/resourcify"));
    assert_eq!(header("ce-subject"), Some(format!("user/{id}")));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("Nats-Msg-Id"), Some(msg_id));
    assert_eq!(header("ce-requestid").as_deref(), Some("req-42"));
    let ce_id: Uuid = header("ce-id").unwrap().parse().unwrap();
    assert_eq!(ce_id.get_version_num(), 7);
    assert!(chrono::DateTime::parse_from_rfc3339(&header("ce-time").unwrap()).is_ok());
    // The personal fields are sealed; the store opens them again.
    let payload: serde_json::Value = serde_json::from_slice(&stored.payload).unwrap();
    assert_eq!(payload["user_id"], id.to_string());
    assert!(payload.get("username").is_none() && payload["sealed"].is_object());
    let loaded = store.load::<User>(id).await.unwrap();
    assert_eq!(loaded.state.username, "headers");
}

#[tokio::test]
async fn an_aggregate_loads_from_its_own_subject_only() {
    let guard = NamespaceGuard::new();
    let store = open_store(&guard).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .append("user", a, 0, registered(a, "alpha"))
        .await
        .unwrap();
    let at = store
        .append("user", b, 0, registered(b, "beta"))
        .await
        .unwrap();

    let loaded = store.load::<User>(b).await.unwrap();
    assert_eq!(loaded.state.id, Some(b));
    assert_eq!(loaded.version, at.position);
    let missing = store.load::<User>(Uuid::now_v7()).await.unwrap();
    assert_eq!(missing.state.id, None);
    assert_eq!(missing.version, 0);

    // The projector's feed sees both, in order.
    let feed: Vec<_> = store.feed_after(0).await.unwrap().take(2).collect().await;
    let positions: Vec<_> = feed.into_iter().map(|e| e.unwrap().position).collect();
    assert_eq!(positions, [1, 2]);
}

fn resource_event(id: Uuid, n: usize) -> NewEvent {
    use resourcify_domain::resource::{
        ResourceEdited, ResourceEvent, ResourceKind, ResourceSubmitted,
    };
    let event = if n == 0 {
        ResourceEvent::Submitted(ResourceSubmitted {
            resource_id: id,
            author_id: Uuid::nil(),
            title: "title 0".into(),
            url: format!("https://example.org/{id}"),
            canonical_url: format!("https://example.org/{id}"),
            description: String::new(),
            tags: vec!["t".into()],
            kind: ResourceKind::Article,
            submitted_at: Utc::now(),
        })
    } else {
        ResourceEvent::Edited(ResourceEdited {
            resource_id: id,
            title: format!("title {n}"),
            description: String::new(),
            tags: vec!["t".into()],
            kind: ResourceKind::Article,
            edited_by: Uuid::nil(),
            at: Utc::now(),
        })
    };
    NewEvent {
        event: DomainEvent::Resource(event),
        msg_id: Uuid::now_v7().to_string(),
        request_id: None,
        time: Utc::now(),
    }
}

/// Loads read a short history message by message and a long one through a
/// consumer: both give every event of the subject, in order, and the last
/// one's position as the version, with other subjects' events in between.
#[tokio::test]
async fn short_and_long_histories_load_whole_and_in_order() {
    use resourcify_domain::resource::Resource;
    let guard = NamespaceGuard::new();
    let store = open_store(&guard).await;
    for events in [1, 2, 8, 9, 20] {
        let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (mut version, mut neighbour) = (0, 0);
        for n in 0..events {
            version = store
                .append("resource", id, version, resource_event(id, n))
                .await
                .unwrap()
                .position;
            // The neighbour's events sit between ours.
            neighbour = store
                .append("resource", other, neighbour, resource_event(other, n))
                .await
                .unwrap()
                .position;
        }
        let loaded = store.load::<Resource>(id).await.unwrap();
        assert_eq!(loaded.version, version, "{events} events");
        assert_eq!(loaded.state.version as usize, events, "{events} events");
        assert_eq!(loaded.state.title, format!("title {}", events - 1));
        // A load decides on exactly what the append then expects.
        let stale = store
            .append("resource", id, version - 1, resource_event(id, events))
            .await;
        assert!(
            matches!(stale, Err(EventStoreError::Conflict { .. })),
            "{stale:?}"
        );
    }
}
