//! Resource changes as clients follow them: one follower of the log per
//! node turns each event that changes a resource into a change with the
//! resource's public fields (read from the view once it shows the event)
//! and broadcasts it. A subscriber that resumes after position N first gets
//! the changes after N from the log, then the broadcast, skipping what it
//! already had: no gap and no duplicate at the seam.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::vote::VoteEvent;
use resourcify_eventstore::RawEvent;
use resourcify_readmodel::ResourceRow;
use resourcify_readmodel::projections::Projection;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::core::Core;
use crate::error::AppError;

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Submitted,
    Edited,
    Voted,
    Retracted,
    Hidden,
    Restored,
    Commented,
    /// A news item was found in a source's feed.
    NewsPublished,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Submitted => "resource.submitted",
            Self::Edited => "resource.edited",
            Self::Voted => "resource.voted",
            Self::Retracted => "resource.retracted",
            Self::Hidden => "resource.hidden",
            Self::Restored => "resource.restored",
            Self::Commented => "resource.commented",
            Self::NewsPublished => "news-item.published",
        }
    }

    /// Whether the change takes the resource out of public view; its
    /// message then names the resource and nothing more.
    pub fn removes(self) -> bool {
        matches!(self, Self::Retracted | Self::Hidden)
    }

    fn of(event: &DomainEvent) -> Option<(Self, Uuid)> {
        Some(match event {
            DomainEvent::Resource(e) => match e {
                ResourceEvent::Submitted(e) => (Self::Submitted, e.resource_id),
                ResourceEvent::Edited(e) => (Self::Edited, e.resource_id),
                ResourceEvent::Retracted(e) => (Self::Retracted, e.resource_id),
                ResourceEvent::Hidden(e) => (Self::Hidden, e.resource_id),
                ResourceEvent::Restored(e) => (Self::Restored, e.resource_id),
                ResourceEvent::NewsItemPublished(e) => (Self::NewsPublished, e.resource_id),
            },
            DomainEvent::Vote(VoteEvent::Cast(e)) => (Self::Voted, e.resource_id),
            DomainEvent::Vote(VoteEvent::Withdrawn(e)) => (Self::Voted, e.resource_id),
            DomainEvent::Comment(CommentEvent::Posted(e)) => (Self::Commented, e.resource_id),
            _ => return None,
        })
    }
}

/// One change, as subscribers receive it.
#[derive(Debug, Clone)]
pub struct ResourceChange {
    /// The stream position of the event: the SSE `id`.
    pub position: u64,
    pub kind: ChangeKind,
    /// The resource as the views show it after the change (used to filter
    /// by tag and author; sent only while public).
    pub resource: ResourceRow,
}

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum ChangeNotice {
    Change(Arc<ResourceChange>),
    /// The asked position is older than the log keeps (or unknown): reload
    /// from the REST API. The changes after `position` follow on the same
    /// stream, and `position` is the SSE id, so a client that reconnects
    /// resumes there instead of being told to resync again.
    Resync {
        position: u64,
    },
    /// The subscriber fell too far behind and is cut off.
    TooSlow,
}

/// The broadcast of one node.
#[derive(Debug)]
struct ChangeHub {
    sender: broadcast::Sender<Arc<ResourceChange>>,
    /// The position of the last change broadcast; read with the
    /// subscription, under the same lock as the send, so a subscriber knows
    /// exactly where the broadcast takes over from the log.
    last: Mutex<u64>,
}

impl ChangeHub {
    /// `buffer`: how many changes a subscriber may fall behind before it is
    /// cut off, which is what bounds each connection's memory.
    fn new(buffer: usize) -> Self {
        Self {
            sender: broadcast::channel(buffer.max(1)).0,
            last: Mutex::new(0),
        }
    }

    fn publish(&self, change: ResourceChange) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = change.position;
        // No subscriber is not an error.
        let _ = self.sender.send(Arc::new(change));
    }

    fn subscribe(&self) -> (broadcast::Receiver<Arc<ResourceChange>>, u64) {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        (self.sender.subscribe(), *last)
    }
}

/// Resource changes as clients subscribe to them.
#[derive(Debug, Clone)]
pub struct Changes {
    core: Core,
    hub: Arc<ChangeHub>,
}

impl Changes {
    pub(crate) fn new(core: Core) -> Self {
        let hub = Arc::new(ChangeHub::new(core.settings().stream_buffer));
        Self { core, hub }
    }

    /// Resolves once the node begins draining: a stream ends there, with a
    /// hint to reconnect (to another node).
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.core.drained()
    }

    /// The change an event makes, with the resource as the view shows it
    /// once it includes the event; `None` for events that change no
    /// resource, and for changes to what the public may not see.
    async fn change_of(&self, raw: &RawEvent) -> Result<Option<ResourceChange>, AppError> {
        let Ok(recorded) = raw.decode() else {
            return Ok(None);
        };
        let Some((kind, id)) = ChangeKind::of(&recorded.event) else {
            return Ok(None);
        };
        // The view must show this event; wait as long as it takes.
        let source = loop {
            let source = self
                .core
                .read_from(&[Projection::Resources], Some(raw.position))
                .await;
            if let Ok(source) = source {
                break source;
            }
        };
        let Some(row) = source.reads.resource_by_id(id).await? else {
            return Ok(None);
        };
        if !kind.removes() && !row.is_public() {
            return Ok(None);
        }
        Ok(Some(ResourceChange {
            position: raw.position,
            kind,
            resource: row,
        }))
    }

    /// Follows the log from its head and broadcasts every resource change;
    /// run once per API node.
    pub async fn follow(self) {
        let mut backoff = Duration::from_millis(100);
        let mut position = loop {
            match self.core.store().head().await {
                Ok(head) => break head,
                Err(error) => {
                    tracing::warn!(%error, "cannot start following resource changes");
                    tokio::time::sleep(backoff).await;
                }
            }
        };
        *self.hub.last.lock().unwrap_or_else(|p| p.into_inner()) = position;
        loop {
            let mut opened = false;
            let result: Result<(), AppError> = async {
                let mut feed = self.core.store().feed_after(position).await?;
                opened = true;
                while let Some(raw) = feed.next().await {
                    let raw = raw?;
                    if let Some(change) = self.change_of(&raw).await? {
                        self.hub.publish(change);
                    }
                    position = raw.position;
                }
                Ok(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(%error, "resource changes interrupted; resuming");
            }
            // A feed that opened ended for a reason of the moment (a renewed
            // connection): start over with the shortest pause. Only failures
            // to open one back off further.
            if opened {
                backoff = Duration::from_millis(100);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Resource changes: after `after` if given (from the log first), then
    /// live.
    pub async fn subscribe(
        &self,
        after: Option<u64>,
    ) -> Result<BoxStream<'static, ChangeNotice>, AppError> {
        let (live, live_from) = self.hub.subscribe();
        let store = &self.core.store();
        let mut backlog = Vec::new();
        let mut resync = false;
        if let Some(after) = after.filter(|after| *after < live_from) {
            let first = store.first_position().await?;
            if after + 1 < first {
                resync = true;
            } else {
                let mut feed = store.feed_after(after).await?;
                while let Some(raw) = feed.next().await {
                    let raw = raw?;
                    if let Some(change) = self.change_of(&raw).await? {
                        backlog.push(ChangeNotice::Change(Arc::new(change)));
                    }
                    if raw.position >= live_from {
                        break;
                    }
                }
            }
        } else if let Some(after) = after {
            // A position this log never had: the client saw another one.
            resync = after > store.head().await?;
        }
        // The backlog covers (after, live_from]; the broadcast the rest.
        // After a resync the client reloads, and the broadcast takes over.
        let seen = if resync {
            backlog.push(ChangeNotice::Resync {
                position: live_from,
            });
            live_from
        } else {
            after.unwrap_or(0).max(live_from)
        };
        let live = futures::stream::unfold(Some(live), move |receiver| async move {
            let mut receiver = receiver?;
            loop {
                match receiver.recv().await {
                    Ok(change) if change.position <= seen => {}
                    Ok(change) => return Some((ChangeNotice::Change(change), Some(receiver))),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((ChangeNotice::TooSlow, None));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(futures::stream::iter(backlog).chain(live).boxed())
    }
}
