//! One's inbox: notifications newest first, the unread count, marking
//! read (`user.notifications-read`, so a replay keeps it), and the live
//! stream of new ones, opened with a single-use ticket (ADR 22). Every
//! answer is one member's: cached on this node by a query that names them,
//! dropped by the notices that name them, never in a shared cache.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use futures::stream::BoxStream;
use resourcify_domain::ValidationErrors;
use resourcify_domain::user::UserCommand;
use resourcify_eventstore::StreamTickets;
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{NotificationRow, ViewNotice};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::core::{CommandMeta, CommandOutcome, Core};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::paging::{Page, PageRequest, paging};
use crate::views::{CacheOutcome, RenderedView};

/// The view every answer here reads.
const INBOX: [Projection; 1] = [Projection::Notifications];

/// How many notifications a stream reads from the view at a time.
const STREAM_BATCH: i64 = 100;

/// How long a stream waits for a notice naming its member before it asks
/// the view anyway: notices travel on core NATS and may be lost.
const STREAM_RECHECK: Duration = Duration::from_secs(30);

/// A ticket that opens one member's notification stream, once, within
/// [`StreamTickets::LIFETIME`].
#[derive(Debug, Clone)]
pub struct StreamTicket {
    /// Opaque and random: 32 bytes, base64url.
    pub ticket: resourcify_domain::Secret,
    pub expires_in: Duration,
}

/// Reading and marking one's inbox.
#[derive(Debug, Clone)]
pub struct Notifications {
    core: Core,
    /// Notices of the inbox view, as this node receives them: what wakes
    /// the streams of the members they name.
    notices: broadcast::Sender<Arc<ViewNotice>>,
}

impl Notifications {
    pub(crate) fn new(core: Core) -> Self {
        Self {
            core,
            notices: broadcast::channel(1024).0,
        }
    }

    /// Wakes the streams of the members an inbox notice names.
    pub(crate) fn observe(&self, notice: &ViewNotice) {
        if notice.projection == Projection::Notifications.name() && !notice.keys.is_empty() {
            // No stream open is not an error.
            let _ = self.notices.send(Arc::new(notice.clone()));
        }
    }

    /// A page of the caller's notifications, newest first, rendered by
    /// `render`, from memory when possible.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn inbox_view(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&Page<NotificationRow>) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let paging = paging(page)?;
        let before = paging.before()?;
        let user_id = caller.user_id;
        let key = format!(
            "inbox {user_id} {} {}",
            paging.limit,
            page.cursor.unwrap_or("")
        );
        let core = &self.core;
        core.cached(
            &core.views().inboxes,
            &INBOX,
            key,
            min_position,
            async move |reads| {
                let rows = reads
                    .notifications_newest(user_id, before, paging.fetch())
                    .await?;
                Ok(paging.rendered(rows, |last| Cursor::Before(last.position), render))
            },
        )
        .await
    }

    /// How many of the caller's notifications are unread, rendered by
    /// `render`, from memory when possible.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn unread_count_view(
        &self,
        caller: &AuthenticatedUser,
        min_position: Option<u64>,
        render: impl FnOnce(&i64) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let user_id = caller.user_id;
        let core = &self.core;
        core.cached(
            &core.views().inboxes,
            &INBOX,
            format!("unread {user_id}"),
            min_position,
            async move |reads| {
                let unread = reads.notifications_unread_count(user_id).await?;
                Ok((render(&unread), None))
            },
        )
        .await
    }

    /// Marks read every notification of the caller's at or before the
    /// position `up_to` (a notification's `position`). A position the log
    /// does not reach is refused: it would mark read what has not happened.
    pub async fn mark_read(
        &self,
        caller: &AuthenticatedUser,
        up_to: u64,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let head = self.core.store().head().await?;
        if up_to > head {
            return Err(AppError::Invalid(ValidationErrors::single(
                "up_to",
                "is beyond every notification: send the position of one",
            )));
        }
        self.core
            .on_own_account(caller, &("mark_notifications_read", up_to), meta, |actor| {
                UserCommand::MarkNotificationsRead {
                    actor,
                    up_to,
                    at: Utc::now(),
                }
            })
            .await
    }

    /// Issues a ticket that opens the caller's notification stream once.
    /// Only its hash is kept, in a bucket every node reads.
    pub async fn stream_ticket(
        &self,
        caller: &AuthenticatedUser,
    ) -> Result<StreamTicket, AppError> {
        // Two version-4 UUIDs: 244 bits from the operating system's source.
        let mut random = [0u8; 32];
        random[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        random[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        let ticket = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
        self.core
            .stream_tickets()
            .issue(&ticket, caller.user_id)
            .await?;
        Ok(StreamTicket {
            ticket: resourcify_domain::Secret::new(ticket),
            expires_in: StreamTickets::LIFETIME,
        })
    }

    /// The member whose stream `ticket` opens, taking the ticket: a ticket
    /// never issued, used already or expired is refused, and so is anything
    /// else (an access token is not a ticket).
    pub async fn redeem_stream_ticket(&self, ticket: &str) -> Result<Uuid, AppError> {
        self.core
            .stream_tickets()
            .redeem(ticket)
            .await?
            .ok_or(AppError::Unauthorized(
                "the stream ticket is unknown, used or expired: ask for a new one",
            ))
    }

    /// Resolves once the node begins draining: a stream ends there.
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.core.drained()
    }

    /// `user_id`'s notifications after the position `after` (from the
    /// view), then each new one as the view shows it, oldest first. Without
    /// `after`, only those the view does not show yet.
    pub async fn follow(
        &self,
        user_id: Uuid,
        after: Option<u64>,
    ) -> Result<BoxStream<'static, NotificationRow>, AppError> {
        let wakes = self.notices.subscribe();
        let after = match after {
            Some(after) => i64::try_from(after).unwrap_or(i64::MAX),
            None => {
                let reads = self.core.read_from(&INBOX, None).await?.reads;
                let checkpoint = reads
                    .projection_checkpoint(Projection::Notifications.name())
                    .await?;
                i64::try_from(checkpoint).unwrap_or(i64::MAX)
            }
        };
        let member = user_id.to_string();
        let state = Following {
            core: self.core.clone(),
            user_id,
            after,
            shown: None,
            wakes,
            pending: std::collections::VecDeque::new(),
        };
        Ok(futures::stream::unfold(state, move |mut state| {
            let member = member.clone();
            async move {
                loop {
                    if let Some(row) = state.pending.pop_front() {
                        return Some((row, state));
                    }
                    state.read_next().await;
                    if state.pending.is_empty() {
                        state.shown = state.wait_for(&member).await;
                    }
                }
            }
        })
        .boxed())
    }
}

/// A stream's place: what it sent last, and what wakes it.
struct Following {
    core: Core,
    user_id: Uuid,
    after: i64,
    /// The position the notice that woke the stream names: the read waits
    /// until the view it reads (a replica, perhaps) shows it.
    shown: Option<u64>,
    wakes: broadcast::Receiver<Arc<ViewNotice>>,
    pending: std::collections::VecDeque<NotificationRow>,
}

impl Following {
    /// Reads what follows `after`; a failed read is tried again at the next
    /// wake.
    async fn read_next(&mut self) {
        let read = async {
            let reads = self.core.read_from(&INBOX, self.shown).await?.reads;
            Ok::<_, AppError>(
                reads
                    .notifications_after(self.user_id, self.after, STREAM_BATCH)
                    .await?,
            )
        };
        match read.await {
            Ok(rows) => {
                if let Some(last) = rows.last() {
                    self.after = last.position;
                }
                self.pending.extend(rows);
            }
            Err(error) => tracing::warn!(%error, "notification stream read failed; retrying"),
        }
    }

    /// Waits for a notice naming `member` (or a lost one's recheck time);
    /// answers the position to read at.
    async fn wait_for(&mut self, member: &str) -> Option<u64> {
        let deadline = tokio::time::Instant::now() + STREAM_RECHECK;
        loop {
            match tokio::time::timeout_at(deadline, self.wakes.recv()).await {
                Ok(Ok(notice)) if notice.keys.iter().any(|k| k == member) => {
                    return Some(notice.position);
                }
                Ok(Ok(_)) => {}
                // Fell behind the notices: ask the view.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => return None,
                // No notice will come (the node is closing): ask at the
                // recheck time, not in a busy loop.
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    tokio::time::sleep_until(deadline).await;
                    return None;
                }
                Err(_) => return None,
            }
        }
    }
}
