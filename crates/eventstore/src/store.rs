//! Appending and reading events on the one JetStream stream.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use resourcify_domain::personal::PersonalFields;
use resourcify_domain::{Aggregate, DomainEvent, EventType};
use uuid::Uuid;

use crate::envelope::{self, RawEvent};
use crate::metric_families::EVENTS_APPENDED;
use crate::{EventStoreError, MemberKeys, Namespace};

mod feed;
pub use feed::EventFeed;

/// How long a JetStream request (an append's acknowledgement, a key-value
/// operation, a stream query) may take before it counts as failed: a write
/// answers within a few of these even when NATS stops answering without
/// closing the connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// How the stream is created when it does not exist yet.
#[derive(Debug, Clone)]
pub struct EventStoreSettings {
    pub namespace: Namespace,
    /// The CloudEvents `ce-source` of events this process appends.
    pub source: String,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop a repeated append.
    pub duplicate_window: Duration,
    /// Stream replicas: 1 on one server, 3 on a JetStream cluster.
    pub replicas: usize,
}

impl EventStoreSettings {
    pub fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            source: "/resourcify".into(),
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
        }
    }
}

/// One event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: DomainEvent,
    /// The id of the request that caused the event, kept as `ce-requestid`.
    pub request_id: Option<String>,
    /// Becomes `Nats-Msg-Id`: the same id appended twice is stored once.
    pub msg_id: String,
    pub time: DateTime<Utc>,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub position: u64,
    /// JetStream had already stored this `Nats-Msg-Id`; `position` is the original's.
    pub duplicate: bool,
}

/// An aggregate's current state and the subject sequence it was built from.
#[derive(Debug)]
pub struct Loaded<A> {
    pub state: A,
    /// The stream sequence of the aggregate's last event, 0 when it has none:
    /// the `Nats-Expected-Last-Subject-Sequence` of the next append.
    pub version: u64,
}

/// The event log of one namespace.
#[derive(Clone)]
pub struct EventStore {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: stream::Stream,
    settings: EventStoreSettings,
    keys: MemberKeys,
    /// The connection's state as the client reports its changes, when the
    /// caller connected with a watch on it.
    connection: Option<tokio::sync::watch::Receiver<bool>>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("namespace", &self.settings.namespace)
            .finish_non_exhaustive()
    }
}

impl EventStore {
    /// Opens the namespace's stream, creating it if missing.
    pub async fn open(
        client: async_nats::Client,
        settings: EventStoreSettings,
    ) -> Result<Self, EventStoreError> {
        let mut js = jetstream::new(client.clone());
        js.set_timeout(REQUEST_TIMEOUT);
        let ns = &settings.namespace;
        let stream = crate::create::get_or_create_stream(
            &js,
            stream::Config {
                name: ns.stream_name(),
                subjects: vec![ns.all_events_subject()],
                storage: stream::StorageType::File,
                duplicate_window: settings.duplicate_window,
                num_replicas: settings.replicas,
                allow_direct: true,
                ..Default::default()
            },
        )
        .await?;
        let keys = MemberKeys::open(&js, ns, settings.replicas).await?;
        Ok(Self {
            client,
            js,
            stream,
            settings,
            keys,
            connection: None,
        })
    }

    /// How many copies JetStream keeps of the stream and the buckets.
    pub fn replicas(&self) -> usize {
        self.settings.replicas
    }

    /// The members' keys that seal their personal data in this log.
    pub fn member_keys(&self) -> &MemberKeys {
        &self.keys
    }

    pub fn namespace(&self) -> &Namespace {
        &self.settings.namespace
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Appends one event to an aggregate's subject, provided the subject's last
    /// sequence is still `expected` (0: the aggregate must have no events yet).
    #[tracing::instrument(skip(self, new), fields(event_type = new.event.event_type().name))]
    pub async fn append(
        &self,
        aggregate: &str,
        id: Uuid,
        expected: u64,
        new: NewEvent,
    ) -> Result<Appended, EventStoreError> {
        let subject = self.settings.namespace.aggregate_subject(aggregate, id);
        let (event_type, payload) = self
            .keys
            .seal(new.event.event_type(), new.event.to_payload())
            .await?;
        let mut headers = envelope::headers(
            event_type,
            aggregate,
            id,
            &self.settings.source,
            &new.msg_id,
            new.time,
        );
        if let Some(request_id) = &new.request_id {
            headers.insert("ce-requestid", request_id.as_str());
        }
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .headers(headers)
            .expected_last_subject_sequence(expected);
        let ack = self
            .js
            .send_publish(subject, publish)
            .await
            .map_err(EventStoreError::unavailable)?
            .await
            .map_err(|e| match e.kind() {
                PublishErrorKind::WrongLastSequence => EventStoreError::Conflict { expected },
                _ => EventStoreError::unavailable(e),
            })?;
        if !ack.duplicate {
            metrics::counter!(EVENTS_APPENDED, "type" => event_type.ce_type()).increment(1);
        }
        Ok(Appended {
            position: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Loads an aggregate by reading its subject only.
    ///
    /// Most aggregates hold one event or a few (a resource, a vote, a
    /// comment), so they are read message by message with the stream's get
    /// requests, which the stream's leader answers: the subject's last
    /// message (the version) and its first, asked at once, then each next
    /// one. One event takes one round trip, with no consumer to create on
    /// the server. A longer history is read through a consumer after the
    /// first eight events.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn load<A: Aggregate>(&self, id: Uuid) -> Result<Loaded<A>, EventStoreError> {
        let subject = self.settings.namespace.aggregate_subject(A::NAME, id);
        let (last, first) = futures::join!(
            self.stream.get_last_raw_message_by_subject(&subject),
            self.stream.get_first_raw_message_by_subject(&subject, 1),
        );
        let no_message = |kind| kind == stream::LastRawMessageErrorKind::NoMessageFound;
        let last = match last {
            Ok(message) => message.sequence,
            // Nothing yet (whatever the other request saw since: the
            // version is 0, and an append at 0 finds out).
            Err(e) if no_message(e.kind()) => {
                return Ok(Loaded {
                    state: A::default(),
                    version: 0,
                });
            }
            Err(e) => return Err(EventStoreError::unavailable(e)),
        };
        let mut events = Vec::new();
        let mut next = match first {
            Ok(message) => Some(message),
            Err(e) if no_message(e.kind()) => None,
            Err(e) => return Err(EventStoreError::unavailable(e)),
        };
        while let Some(message) = next.take() {
            if message.sequence > last {
                break;
            }
            let position = message.sequence;
            let raw = RawEvent::new(
                position,
                message.subject.as_str(),
                Some(&message.headers),
                message.payload,
            );
            events.push(self.decode_loaded::<A>(raw).await?);
            if position >= last {
                break;
            }
            if events.len() >= DIRECT_READS {
                self.consume_until::<A>(&subject, position + 1, last, &mut events)
                    .await?;
                break;
            }
            next = match self
                .stream
                .get_first_raw_message_by_subject(&subject, position + 1)
                .await
            {
                Ok(message) => Some(message),
                Err(e) if no_message(e.kind()) => None,
                Err(e) => return Err(EventStoreError::unavailable(e)),
            };
        }
        Ok(Loaded {
            state: A::from_history(&events),
            version: last,
        })
    }

    /// The position of aggregate `id`'s first event if it was appended with
    /// `msg_id`: the creation a request made before its answer was lost (the
    /// node died between the append and recording the outcome), found again
    /// by the request's retry.
    pub async fn created_by(
        &self,
        aggregate: &str,
        id: Uuid,
        msg_id: &str,
    ) -> Result<Option<u64>, EventStoreError> {
        let subject = self.settings.namespace.aggregate_subject(aggregate, id);
        match self
            .stream
            .get_first_raw_message_by_subject(&subject, 1)
            .await
        {
            Ok(message) => {
                let appended_with = message
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|value| value.as_str());
                Ok((appended_with == Some(msg_id)).then_some(message.sequence))
            }
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// Reads the rest of a long history, from `start` up to `last`, through
    /// an ordered consumer.
    async fn consume_until<A: Aggregate>(
        &self,
        subject: &str,
        start: u64,
        last: u64,
        events: &mut Vec<A::Event>,
    ) -> Result<(), EventStoreError> {
        let mut feed = self.consume(subject.to_owned(), start).await?;
        while let Some(raw) = feed.next().await {
            let raw = raw?;
            let position = raw.position;
            events.push(decode_as::<A>(&raw)?);
            if position >= last {
                break;
            }
        }
        Ok(())
    }

    /// Opens (if sealed) and decodes one of an aggregate's events.
    async fn decode_loaded<A: Aggregate>(
        &self,
        raw: RawEvent,
    ) -> Result<A::Event, EventStoreError> {
        let raw = open_raw(&self.keys, raw).await?;
        decode_as::<A>(&raw)
    }

    /// The position of the newest event in the log (0 when empty).
    pub async fn head(&self) -> Result<u64, EventStoreError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(EventStoreError::unavailable)?;
        Ok(info.state.last_sequence)
    }

    /// The position of the oldest event still in the log (1 unless the
    /// stream has been trimmed; 0 when it is empty).
    pub async fn first_position(&self) -> Result<u64, EventStoreError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(EventStoreError::unavailable)?;
        Ok(info.state.first_sequence)
    }

    /// When the event at `position` was stored, if it still exists.
    pub async fn stored_at(&self, position: u64) -> Result<Option<DateTime<Utc>>, EventStoreError> {
        match self.stream.get_raw_message(position).await {
            Ok(message) => Ok(Some(message.time)),
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// How many times the client has connected to NATS (the first time
    /// included): a change says a reconnect happened, after which feeds
    /// are best opened again.
    pub fn connects(&self) -> u64 {
        self.client.statistics().connects.load(Ordering::Relaxed)
    }

    /// The port of the NATS server the client is connected to (in a
    /// cluster, one of its members).
    pub fn server_port(&self) -> u16 {
        self.client.server_info().port
    }

    /// Follows the connection's state changes (see [`Self::until_connected`]).
    pub fn follow_connection(&mut self, connection: tokio::sync::watch::Receiver<bool>) {
        self.connection = Some(connection);
    }

    /// Waits until the connection is up (`true`) or down (`false`), as the
    /// client reports it; at once if it already is, or if no state is
    /// followed.
    pub async fn until_connected(&self, connected: bool) {
        if let Some(connection) = &self.connection {
            let mut connection = connection.clone();
            let _ = connection.wait_for(|state| *state == connected).await;
        }
    }

    /// Whether the NATS connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Opens a sealed event read outside a feed (a dead letter, say).
    pub async fn open_event(&self, raw: RawEvent) -> Result<RawEvent, EventStoreError> {
        open_raw(&self.keys, raw).await
    }

    /// Erases a member from the log: destroys their key, so every sealed
    /// field of theirs opens to placeholders from now on, and erases (JetStream
    /// overwrites, then removes) the events of theirs that were written with
    /// personal fields in clear before sealing began. Replays step over the
    /// gaps: positions were never dense. Returns how many events were erased.
    pub async fn erase_member(&self, user_id: Uuid) -> Result<usize, EventStoreError> {
        self.keys.erase(user_id).await?;
        let subject = self.settings.namespace.aggregate_subject("user", user_id);
        let last = match self.stream.get_last_raw_message_by_subject(&subject).await {
            Ok(message) => message.sequence,
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => return Ok(0),
            Err(e) => return Err(EventStoreError::unavailable(e)),
        };
        let mut in_clear = Vec::new();
        let mut feed = self.consume(subject, 1).await?;
        while let Some(raw) = feed.next().await {
            let raw = raw?;
            let plain_personal = raw
                .ce_type
                .as_deref()
                .and_then(EventType::from_ce_type)
                .and_then(PersonalFields::of_plain)
                .is_some();
            if plain_personal {
                in_clear.push(raw.position);
            }
            if raw.position >= last {
                break;
            }
        }
        for position in &in_clear {
            self.stream
                .delete_message(*position)
                .await
                .map_err(EventStoreError::unavailable)?;
        }
        Ok(in_clear.len())
    }
}

/// How many events a load reads one get request at a time before it reads
/// the rest through a consumer.
const DIRECT_READS: usize = 8;

/// Decodes one of an aggregate's events.
fn decode_as<A: Aggregate>(raw: &RawEvent) -> Result<A::Event, EventStoreError> {
    let corrupt = |reason: String| EventStoreError::Corrupt {
        position: raw.position,
        reason,
    };
    let recorded = raw.decode().map_err(|e| corrupt(e.to_string()))?;
    A::Event::try_from(recorded.event)
        .map_err(|other| corrupt(format!("{:?} on a {}", other.event_type(), A::NAME)))
}

/// Opens a sealed event with its owner's key; and forgets a member's key
/// on seeing their deletion, so this node stops opening their events.
async fn open_raw(keys: &MemberKeys, mut raw: RawEvent) -> Result<RawEvent, EventStoreError> {
    let ce_type = raw.ce_type.as_deref();
    if ce_type == Some(EventType::USER_DELETED.ce_type().as_str()) {
        if let Some(user_id) = raw
            .subject
            .rsplit('.')
            .next()
            .and_then(|id| id.parse().ok())
        {
            keys.forget(user_id);
        }
        return Ok(raw);
    }
    raw.set_opened(keys.open_sealed(ce_type, &raw.payload).await?);
    Ok(raw)
}
