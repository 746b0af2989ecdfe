//! Server-Sent Events: live resource changes, resumable with
//! `Last-Event-ID`, filtered by tag or author, never showing what the public
//! may not see.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use poem::web::sse::Event;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::EventStream;
use poem_openapi::{Object, OpenApi, Tags};
use resourcify_app::ChangeNotice;
use uuid::Uuid;

use crate::ApiError;
use crate::client_address::ClientAddress;
use crate::dto::Resource;

#[derive(Tags)]
enum ApiTags {
    /// Live updates.
    Streams,
}

/// One message of the stream. Its SSE `event` is `type`, its SSE `id` the
/// stream position.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StreamMessage {
    /// `resource.submitted`, `resource.edited`, `resource.voted`,
    /// `resource.retracted`, `resource.hidden`, `resource.restored`,
    /// `resource.commented`, `news-item.published`; or `resync` (the asked
    /// position is gone: reload from the REST API; the changes after the
    /// resync's `position`, which is also its SSE id, follow on the same
    /// stream) or `too-slow` (the client fell behind and is disconnected;
    /// reconnecting resumes from its last id).
    #[oai(rename = "type")]
    pub kind: String,
    pub position: Option<u64>,
    pub resource_id: Option<Uuid>,
    /// The resource's public fields after the change (with its vote count);
    /// absent when the change took it out of public view.
    pub resource: Option<Resource>,
}

impl StreamMessage {
    fn notice(kind: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            position: None,
            resource_id: None,
            resource: None,
        }
    }
}

/// Bounds on open streams: in all, and per client address.
#[derive(Debug)]
pub struct StreamLimits {
    pub total: usize,
    pub per_client: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl StreamLimits {
    pub fn new(total: usize, per_client: usize) -> Self {
        Self {
            total,
            per_client,
            open: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn open(self: &Arc<Self>, client: IpAddr) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.values().sum::<usize>() >= self.total {
            return Err(ApiError::unavailable(
                "this server has as many open streams as it takes; try again later",
            ));
        }
        let mine = open.entry(client).or_default();
        if *mine >= self.per_client {
            return Err(ApiError::too_many_streams(self.per_client));
        }
        *mine += 1;
        Ok(StreamSlot {
            limits: self.clone(),
            client,
        })
    }
}

/// An open stream's place; given back when the stream ends.
pub(crate) struct StreamSlot {
    limits: Arc<StreamLimits>,
    client: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// A message of a stream: its SSE `event` is `kind`, its `id` the stream
/// position (for `Last-Event-ID`), its data `message` as JSON.
pub(crate) fn sse_event(
    kind: &str,
    position: Option<u64>,
    message: &impl poem_openapi::types::ToJSON,
) -> Event {
    let data = serde_json::to_string(&message.to_json()).unwrap_or_default();
    let event = Event::message(data).event_type(kind.to_owned());
    match position {
        Some(position) => event.id(position.to_string()),
        None => event,
    }
}

#[derive(Debug)]
pub struct StreamsApi {
    pub accounts: resourcify_app::Accounts,
    pub changes: resourcify_app::Changes,
    /// Shared with the notification stream: a client's streams count together.
    pub limits: Arc<StreamLimits>,
}

/// How long a client should wait before reconnecting, in milliseconds.
/// How often an idle stream sends a comment line. A client that went away
/// is only noticed when a write to it fails, and the write after the next
/// one does: its slot is free again within about twice this.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(2);

pub(crate) const RETRY_MS: u64 = 3_000;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Streams")]
impl StreamsApi {
    /// Follow resource changes as they happen (Server-Sent Events)
    ///
    /// Reconnect with `Last-Event-ID: N` (or `?after=N`) to receive every
    /// matching change after N, in order, then the live ones, with no gap and
    /// no duplicate. Comments keep the connection alive every 15 s. A client
    /// that cannot keep up is sent `too-slow` and disconnected.
    #[oai(
        path = "/streams/resources",
        method = "get",
        operation_id = "streamResources"
    )]
    async fn resources(
        &self,
        /// Only changes to resources with one of these tags (repeatable).
        tag: Query<Vec<String>>,
        /// Only changes to resources by this username.
        author: Query<Option<String>>,
        /// Resume after this position.
        after: Query<Option<u64>>,
        /// Resume after this position (what the browser sends on reconnect).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<u64>>,
        client: ClientAddress,
    ) -> Result<EventStream<BoxStream<'static, StreamMessage>>, ApiError> {
        let client = client.0.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let slot = self.limits.open(client)?;
        let tags: Vec<String> = tag.0.iter().map(|t| t.trim().to_lowercase()).collect();
        let author = match author.0.as_deref() {
            Some(name) => Some(self.accounts.user_id(name).await?),
            None => None,
        };
        let resume = last_event_id.0.max(after.0);
        let notices = self.changes.subscribe(resume).await?;
        let messages = notices.flat_map(move |notice| {
            let messages = match notice {
                ChangeNotice::Change(change) => {
                    let row = &change.resource;
                    let wanted = (tags.is_empty() || row.tags.iter().any(|t| tags.contains(t)))
                        && author.is_none_or(|a| a == row.author_id);
                    let message = wanted.then(|| StreamMessage {
                        kind: change.kind.name().to_owned(),
                        position: Some(change.position),
                        resource_id: Some(row.id),
                        resource: (!change.kind.removes()).then(|| Resource::from(row.clone())),
                    });
                    message.into_iter().collect()
                }
                // The reconnection delay again, then the id to resume from,
                // so a client that reconnects here resumes, not resyncs.
                ChangeNotice::Resync { position } => vec![
                    StreamMessage::notice("retry"),
                    StreamMessage {
                        position: Some(position),
                        ..StreamMessage::notice("resync")
                    },
                ],
                ChangeNotice::TooSlow => vec![StreamMessage::notice("too-slow")],
            };
            futures::stream::iter(messages)
        });
        let advice = futures::stream::once(async { StreamMessage::notice("retry") });
        // A node shutting down ends its streams with the reconnection delay
        // again: the client comes back, to another node, where it left.
        let farewell = futures::stream::once(async { StreamMessage::notice("retry") });
        let messages = messages.take_until(self.changes.drained()).chain(farewell);
        // The slot is held for as long as the stream is.
        let stream = advice
            .chain(messages)
            .map(move |message| {
                let _held = &slot;
                message
            })
            .boxed();
        Ok(EventStream::new(stream)
            .keep_alive(KEEP_ALIVE)
            .to_event(|message| {
                if message.kind == "retry" {
                    return Event::retry(RETRY_MS);
                }
                sse_event(&message.kind, message.position, &message)
            }))
    }
}
