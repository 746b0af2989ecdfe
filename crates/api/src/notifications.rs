//! One's inbox: notifications newest first, the unread count, marking
//! read, and the live stream of new ones. A browser's `EventSource` cannot
//! send the access token in a header, and a token in a URL ends up in logs
//! and histories: the stream opens with a ticket instead, short-lived,
//! single-use and good for this stream only (ADR 22).

use std::net::IpAddr;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use poem::web::sse::Event;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{ApiResponse, OpenApi, Tags};

use crate::ApiError;
use crate::cached::{CachedResponse, PRIVATE};
use crate::client_address::ClientAddress;
use crate::dto::{MarkRead, Notification, NotificationList, NotificationStreamTicket, UnreadCount};
use crate::extract::{CommandHeaders, ConditionalRead, Page};
use crate::responses::CommandResponse;
use crate::security::BearerAuth;
use crate::streams::{KEEP_ALIVE, RETRY_MS, StreamLimits, sse_event};

#[derive(Tags)]
enum ApiTags {
    /// One's notifications.
    Notifications,
}

#[derive(Debug)]
pub struct NotificationsApi {
    pub notifications: resourcify_app::Notifications,
    pub limits: Arc<StreamLimits>,
}

#[derive(ApiResponse)]
enum TicketResponse {
    /// The ticket; it opens the stream once.
    #[oai(status = 201)]
    Created(
        Json<NotificationStreamTicket>,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[OpenApi(prefix_path = "/v1/me/notifications", tag = "ApiTags::Notifications")]
impl NotificationsApi {
    /// One's notifications, newest first
    ///
    /// Replies to one's comments, comments on one's resources, mentions
    /// (`@username`) in comments and descriptions, and one's resources
    /// hidden or restored by a moderator: each with who, what, where, when
    /// and whether it is read. Never of one's own doing, nor of a suspended
    /// or deleted member's; a deleted or removed comment's go. Pages with
    /// `cursor`; the `Link` header names the next page.
    #[oai(path = "/", method = "get", operation_id = "listNotifications")]
    async fn list(
        &self,
        auth: BearerAuth,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<NotificationList>, ApiError> {
        let page = CachedResponse::list(&read, &page, async |at, render| {
            self.notifications
                .inbox_view(&auth.0, page.request(), at, render)
                .await
        })
        .await?;
        Ok(page.for_one_member())
    }

    /// How many of one's notifications are unread
    #[oai(
        path = "/unread-count",
        method = "get",
        operation_id = "countUnreadNotifications"
    )]
    async fn unread_count(
        &self,
        auth: BearerAuth,
        read: ConditionalRead,
    ) -> Result<CachedResponse<UnreadCount>, ApiError> {
        let view = self
            .notifications
            .unread_count_view(
                &auth.0,
                read.min_position,
                crate::rendered::RenderedJson::<UnreadCount>::render_from,
            )
            .await?;
        Ok(CachedResponse::view(view, &read).for_one_member())
    }

    /// Mark notifications read
    ///
    /// Every notification at or before `up_to` (a notification's
    /// `position`) reads as read from now on; marking older ones changes
    /// nothing. A position beyond the log is refused.
    #[oai(
        path = "/read",
        method = "post",
        operation_id = "markNotificationsRead"
    )]
    async fn mark_read(
        &self,
        auth: BearerAuth,
        body: Json<MarkRead>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .notifications
            .mark_read(&auth.0, body.up_to, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// A ticket to open one's notification stream
    ///
    /// The ticket opens `GET /v1/me/notifications/stream` once, within
    /// `expires_in` seconds (60), for the caller, and nothing else: what a
    /// browser's `EventSource`, which cannot send headers, puts in the URL
    /// instead of the access token.
    #[oai(
        path = "/stream-ticket",
        method = "post",
        operation_id = "createNotificationStreamTicket"
    )]
    async fn stream_ticket(&self, auth: BearerAuth) -> Result<TicketResponse, ApiError> {
        let ticket = self.notifications.stream_ticket(&auth.0).await?;
        Ok(TicketResponse::Created(
            Json(ticket.into()),
            PRIVATE.to_owned(),
        ))
    }

    /// Follow one's new notifications (Server-Sent Events)
    ///
    /// Opens with a ticket from `POST /v1/me/notifications/stream-ticket`
    /// (never with the access token). Each message is a notification, its
    /// SSE `id` its `position`. Reconnect with `Last-Event-ID: N` (or
    /// `?after=N`) and a new ticket to receive every notification after N,
    /// then the new ones, with no gap and no duplicate. Comments keep the
    /// connection alive.
    #[oai(path = "/stream", method = "get", operation_id = "streamNotifications")]
    async fn stream(
        &self,
        /// A ticket from `POST /v1/me/notifications/stream-ticket`.
        ticket: Query<String>,
        /// Resume after this position.
        after: Query<Option<u64>>,
        /// Resume after this position (what the browser sends on reconnect).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<u64>>,
        client: ClientAddress,
    ) -> Result<EventStream<BoxStream<'static, Option<Notification>>>, ApiError> {
        let user_id = self.notifications.redeem_stream_ticket(&ticket).await?;
        let client = client.0.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let slot = self.limits.open(client)?;
        let resume = last_event_id.0.max(after.0);
        let rows = self.notifications.follow(user_id, resume).await?;
        let notifications = rows
            .map(|row| Some(Notification::from(&row)))
            .take_until(self.notifications.drained());
        // The reconnection delay (`None`) first, and again when the node
        // closes the stream: the client comes back, to another node, where
        // it left.
        let stream = futures::stream::once(async { None })
            .chain(notifications)
            .chain(futures::stream::once(async { None }))
            .map(move |item| {
                // The slot is held for as long as the stream is.
                let _held = &slot;
                item
            })
            .boxed();
        Ok(EventStream::new(stream)
            .keep_alive(KEEP_ALIVE)
            .to_event(|item| match item {
                None => Event::retry(RETRY_MS),
                Some(notification) => {
                    sse_event("notification", Some(notification.position), &notification)
                }
            }))
    }
}
