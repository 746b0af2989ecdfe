//! One's inbox: notifications, the unread count, marking read, and the
//! ticket that opens the live stream.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_app::{NotificationRow, Page, StreamTicket};
use uuid::Uuid;

use super::SecretText;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum NotificationKind {
    /// Someone replied to one's comment.
    Reply,
    /// Someone commented on one's resource.
    Comment,
    /// Someone named one (`@username`) in a comment or a description.
    Mention,
    /// A moderator hid one's resource.
    Hidden,
    /// A moderator restored one's resource.
    Restored,
}

impl NotificationKind {
    fn parse(kind: &str) -> Self {
        match kind {
            "reply" => Self::Reply,
            "comment" => Self::Comment,
            "hidden" => Self::Hidden,
            "restored" => Self::Restored,
            _ => Self::Mention,
        }
    }
}

/// One notification: who did what, where and when, and whether it is read.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Notification {
    /// Its position in the log: the SSE id of the stream, and what
    /// `POST /v1/me/notifications/read` takes as `up_to`.
    pub position: u64,
    pub kind: NotificationKind,
    /// Who acted; absent when the operator did, from the command line.
    pub actor_id: Option<Uuid>,
    /// Absent for the operator.
    pub actor_username: Option<String>,
    /// The resource it happened on (commented, described, hidden).
    pub resource_id: Uuid,
    /// The resource's title as it reads now.
    pub resource_title: Option<String>,
    /// The comment (a reply, a comment, a mention in a comment).
    pub comment_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub read: bool,
}

impl From<&NotificationRow> for Notification {
    fn from(row: &NotificationRow) -> Self {
        Self {
            position: u64::try_from(row.position).unwrap_or(0),
            kind: NotificationKind::parse(&row.kind),
            actor_id: row.actor_id,
            actor_username: row.actor_username.clone(),
            resource_id: row.resource_id,
            resource_title: row.resource_title.clone(),
            comment_id: row.comment_id,
            at: row.at,
            read: row.read,
        }
    }
}

/// A page of one's notifications, newest first.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct NotificationList {
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl Example for NotificationList {
    fn example() -> Self {
        Self {
            items: vec![Notification {
                position: 4242,
                kind: NotificationKind::Reply,
                actor_id: Some(Uuid::nil()),
                actor_username: Some("ada".into()),
                resource_id: Uuid::nil(),
                resource_title: Some("The Rust Programming Language".into()),
                comment_id: Some(Uuid::nil()),
                at: DateTime::<Utc>::UNIX_EPOCH,
                read: false,
            }],
            next_cursor: Some("djI6bjo0MjQy".into()),
        }
    }
}

impl From<&Page<NotificationRow>> for NotificationList {
    fn from(page: &Page<NotificationRow>) -> Self {
        Self {
            items: page.items.iter().map(Notification::from).collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// How many of one's notifications are unread.
#[derive(Debug, Object)]
pub struct UnreadCount {
    pub unread: u64,
}

impl From<&i64> for UnreadCount {
    fn from(unread: &i64) -> Self {
        Self {
            unread: u64::try_from(*unread).unwrap_or(0),
        }
    }
}

/// Marks read every notification up to one.
#[derive(Debug, Object)]
#[oai(example)]
pub struct MarkRead {
    /// A notification's `position`: it and every older one read as read.
    pub up_to: u64,
}

impl Example for MarkRead {
    fn example() -> Self {
        Self { up_to: 4242 }
    }
}

/// A ticket that opens one's notification stream once.
#[derive(Debug, Object)]
pub struct NotificationStreamTicket {
    /// Pass as `ticket` to `GET /v1/me/notifications/stream`. It opens that
    /// stream once, within `expires_in` seconds, and nothing else.
    pub ticket: SecretText,
    pub expires_in: u64,
}

impl From<StreamTicket> for NotificationStreamTicket {
    fn from(ticket: StreamTicket) -> Self {
        Self {
            ticket: SecretText::from(ticket.ticket),
            expires_in: ticket.expires_in.as_secs(),
        }
    }
}
