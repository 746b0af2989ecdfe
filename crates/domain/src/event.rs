//! Every event the platform records, the names and versions it is stored
//! under, and the upcasting of old versions on read.

use serde::Serialize;

use crate::bookmark::BookmarkEvent;
use crate::comment::CommentEvent;
use crate::comment_vote::CommentVoteEvent;
use crate::flag::FlagEvent;
use crate::news_source::NewsSourceEvent;
use crate::resource::ResourceEvent;
use crate::session::SessionEvent;
use crate::tag_filter::TagFilterEvent;
use crate::user::UserEvent;
use crate::vote::VoteEvent;

/// The stored identity of an event: its type name and schema version.
///
/// The CloudEvents `ce-type` is `resourcify.<name>.v<version>`, and its JSON
/// Schema lives at `schemas/events/<name>/v<version>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType {
    pub name: &'static str,
    pub version: u32,
}

impl EventType {
    /// The plain forms of the events with personal data: what the domain
    /// reads and writes, and what the log held before sealing. The log now
    /// holds their `_SEALED` forms (see [`crate::personal`]).
    pub const USER_REGISTERED: Self = Self::new("user.registered", 1);
    pub const USER_PROFILE_UPDATED: Self = Self::new("user.profile-updated", 1);
    pub const USER_PASSWORD_CHANGED: Self = Self::new("user.password-changed", 1);
    pub const USER_REGISTERED_SEALED: Self = Self::new("user.registered", 2);
    pub const USER_PROFILE_UPDATED_SEALED: Self = Self::new("user.profile-updated", 2);
    pub const USER_PASSWORD_CHANGED_SEALED: Self = Self::new("user.password-changed", 2);
    pub const USER_TAG_FOLLOWED: Self = Self::new("user.tag-followed", 1);
    pub const USER_TAG_UNFOLLOWED: Self = Self::new("user.tag-unfollowed", 1);
    pub const USER_USER_FOLLOWED: Self = Self::new("user.user-followed", 1);
    pub const USER_USER_UNFOLLOWED: Self = Self::new("user.user-unfollowed", 1);
    pub const USER_ROLE_GRANTED: Self = Self::new("user.role-granted", 1);
    pub const USER_ROLE_REVOKED: Self = Self::new("user.role-revoked", 1);
    pub const USER_SUSPENDED: Self = Self::new("user.suspended", 1);
    pub const USER_REINSTATED: Self = Self::new("user.reinstated", 1);
    pub const USER_DELETED: Self = Self::new("user.deleted", 1);
    pub const USER_SESSIONS_REVOKED: Self = Self::new("user.sessions-revoked", 1);
    pub const USER_NOTIFICATIONS_READ: Self = Self::new("user.notifications-read", 1);

    /// v1 had no `user_agent`; it is upcast on read (see [`DomainEvent::decode`]).
    pub const SESSION_STARTED_V1: Self = Self::new("session.started", 1);
    /// The plain form (with the user agent); the log holds the sealed one.
    pub const SESSION_STARTED: Self = Self::new("session.started", 2);
    pub const SESSION_STARTED_SEALED: Self = Self::new("session.started", 3);
    pub const SESSION_REFRESHED: Self = Self::new("session.refreshed", 1);
    pub const SESSION_ENDED: Self = Self::new("session.ended", 1);

    /// v1 had no `canonical_url`; it is upcast on read (see [`DomainEvent::decode`]).
    pub const RESOURCE_SUBMITTED_V1: Self = Self::new("resource.submitted", 1);
    pub const RESOURCE_SUBMITTED: Self = Self::new("resource.submitted", 2);
    pub const RESOURCE_EDITED: Self = Self::new("resource.edited", 1);
    pub const RESOURCE_RETRACTED: Self = Self::new("resource.retracted", 1);
    pub const RESOURCE_HIDDEN: Self = Self::new("resource.hidden", 1);
    pub const RESOURCE_RESTORED: Self = Self::new("resource.restored", 1);

    pub const VOTE_CAST: Self = Self::new("vote.cast", 1);
    pub const VOTE_WITHDRAWN: Self = Self::new("vote.withdrawn", 1);

    pub const BOOKMARK_ADDED: Self = Self::new("bookmark.added", 1);
    pub const BOOKMARK_REMOVED: Self = Self::new("bookmark.removed", 1);

    /// Plain forms; the log holds the `_SEALED` ones (the body is personal).
    pub const COMMENT_POSTED: Self = Self::new("comment.posted", 1);
    pub const COMMENT_EDITED: Self = Self::new("comment.edited", 1);
    pub const COMMENT_POSTED_SEALED: Self = Self::new("comment.posted", 2);
    pub const COMMENT_EDITED_SEALED: Self = Self::new("comment.edited", 2);
    pub const COMMENT_DELETED: Self = Self::new("comment.deleted", 1);
    pub const COMMENT_REMOVED: Self = Self::new("comment.removed", 1);

    pub const COMMENT_VOTE_CAST: Self = Self::new("comment-vote.cast", 1);
    pub const COMMENT_VOTE_WITHDRAWN: Self = Self::new("comment-vote.withdrawn", 1);

    pub const TAG_FILTER_TAG_HIDDEN: Self = Self::new("tag-filter.tag-hidden", 1);
    pub const TAG_FILTER_TAG_UNHIDDEN: Self = Self::new("tag-filter.tag-unhidden", 1);
    pub const FLAGS_RAISED: Self = Self::new("flags.raised", 1);
    pub const FLAGS_WITHDRAWN: Self = Self::new("flags.withdrawn", 1);
    pub const FLAGS_DISMISSED: Self = Self::new("flags.dismissed", 1);

    pub const NEWS_SOURCE_ADDED: Self = Self::new("news-source.added", 1);
    pub const NEWS_SOURCE_UPDATED: Self = Self::new("news-source.updated", 1);
    pub const NEWS_SOURCE_REMOVED: Self = Self::new("news-source.removed", 1);
    pub const NEWS_SOURCE_REFRESH_REQUESTED: Self = Self::new("news-source.refresh-requested", 1);
    pub const NEWS_SOURCE_FETCHED: Self = Self::new("news-source.fetched", 1);
    /// An event of the resource aggregate: a news item is a resource.
    pub const NEWS_ITEM_PUBLISHED: Self = Self::new("news-item.published", 1);

    /// Every event type the code writes today.
    pub const ALL: &'static [Self] = &[
        Self::USER_REGISTERED_SEALED,
        Self::USER_PROFILE_UPDATED_SEALED,
        Self::USER_PASSWORD_CHANGED_SEALED,
        Self::USER_TAG_FOLLOWED,
        Self::USER_TAG_UNFOLLOWED,
        Self::USER_USER_FOLLOWED,
        Self::USER_USER_UNFOLLOWED,
        Self::USER_ROLE_GRANTED,
        Self::USER_ROLE_REVOKED,
        Self::USER_SUSPENDED,
        Self::USER_REINSTATED,
        Self::USER_DELETED,
        Self::USER_SESSIONS_REVOKED,
        Self::USER_NOTIFICATIONS_READ,
        Self::SESSION_STARTED_SEALED,
        Self::SESSION_REFRESHED,
        Self::SESSION_ENDED,
        Self::RESOURCE_SUBMITTED,
        Self::RESOURCE_EDITED,
        Self::RESOURCE_RETRACTED,
        Self::RESOURCE_HIDDEN,
        Self::RESOURCE_RESTORED,
        Self::VOTE_CAST,
        Self::VOTE_WITHDRAWN,
        Self::BOOKMARK_ADDED,
        Self::BOOKMARK_REMOVED,
        Self::COMMENT_POSTED_SEALED,
        Self::COMMENT_EDITED_SEALED,
        Self::COMMENT_DELETED,
        Self::COMMENT_REMOVED,
        Self::COMMENT_VOTE_CAST,
        Self::COMMENT_VOTE_WITHDRAWN,
        Self::TAG_FILTER_TAG_HIDDEN,
        Self::TAG_FILTER_TAG_UNHIDDEN,
        Self::FLAGS_RAISED,
        Self::FLAGS_WITHDRAWN,
        Self::FLAGS_DISMISSED,
        Self::NEWS_SOURCE_ADDED,
        Self::NEWS_SOURCE_UPDATED,
        Self::NEWS_SOURCE_REMOVED,
        Self::NEWS_SOURCE_REFRESH_REQUESTED,
        Self::NEWS_SOURCE_FETCHED,
        Self::NEWS_ITEM_PUBLISHED,
    ];

    /// Versions no longer written but still in the log, read by upcasting.
    pub const SUPERSEDED: &'static [Self] = &[
        Self::RESOURCE_SUBMITTED_V1,
        Self::SESSION_STARTED_V1,
        Self::SESSION_STARTED,
        Self::USER_REGISTERED,
        Self::USER_PROFILE_UPDATED,
        Self::USER_PASSWORD_CHANGED,
        Self::COMMENT_POSTED,
        Self::COMMENT_EDITED,
    ];

    const fn new(name: &'static str, version: u32) -> Self {
        Self { name, version }
    }

    /// Every version that may be found in the log: written now or before.
    pub fn readable() -> impl Iterator<Item = Self> {
        Self::ALL.iter().chain(Self::SUPERSEDED).copied()
    }

    pub fn ce_type(&self) -> String {
        format!("resourcify.{}.v{}", self.name, self.version)
    }

    /// Parses a `ce-type` header back into a name and version.
    pub fn parse_ce_type(ce_type: &str) -> Option<(&str, u32)> {
        let rest = ce_type.strip_prefix("resourcify.")?;
        let (name, version) = rest.rsplit_once(".v")?;
        Some((name, version.parse().ok()?))
    }

    /// The readable event type a `ce-type` header names.
    pub fn from_ce_type(ce_type: &str) -> Option<Self> {
        let (name, version) = Self::parse_ce_type(ce_type)?;
        Self::readable().find(|t| t.name == name && t.version == version)
    }
}

/// The events of one aggregate, as a closed set that knows its stored types.
pub trait EventSet: Sized {
    fn event_type(&self) -> EventType;

    /// Decodes a payload of one of this set's current types; `None` when
    /// `event_type` is not one of them.
    fn decode(event_type: EventType, payload: &[u8]) -> Option<serde_json::Result<Self>>;
}

/// Any event of any aggregate, as stored in the log. Serialises as the inner
/// event's own JSON: the type travels in the envelope, not the payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DomainEvent {
    User(UserEvent),
    Session(SessionEvent),
    Resource(ResourceEvent),
    Vote(VoteEvent),
    Bookmark(BookmarkEvent),
    Comment(CommentEvent),
    CommentVote(CommentVoteEvent),
    TagFilter(TagFilterEvent),
    Flag(FlagEvent),
    NewsSource(NewsSourceEvent),
}

impl DomainEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::User(e) => e.event_type(),
            Self::Session(e) => e.event_type(),
            Self::Resource(e) => e.event_type(),
            Self::Vote(e) => e.event_type(),
            Self::Bookmark(e) => e.event_type(),
            Self::Comment(e) => e.event_type(),
            Self::CommentVote(e) => e.event_type(),
            Self::TagFilter(e) => e.event_type(),
            Self::Flag(e) => e.event_type(),
            Self::NewsSource(e) => e.event_type(),
        }
    }

    /// Decodes a payload stored under `event_type`, upcasting old versions to
    /// the current one, so that nothing past this point sees an old shape.
    ///
    /// What is in the log is not trusted blindly: texts lose the characters
    /// the API refuses today ([`crate::is_text_char`]), whoever wrote them
    /// and whenever, so that no view or feed has to store or render them.
    ///
    /// A sealed payload must be opened (by the event store, which holds the
    /// keys) and decoded under its plain type; here it is refused.
    pub fn decode(event_type: EventType, payload: &[u8]) -> Result<Self, DecodeError> {
        if crate::personal::PersonalFields::of_sealed(event_type).is_some() {
            return Err(DecodeError::Sealed(event_type.ce_type()));
        }
        let payload = &*crate::validation::clean_payload(payload);
        if event_type == EventType::RESOURCE_SUBMITTED_V1 {
            let v1: crate::resource::ResourceSubmittedV1 = serde_json::from_slice(payload)?;
            return Ok(Self::Resource(ResourceEvent::Submitted(v1.upcast())));
        }
        if event_type == EventType::SESSION_STARTED_V1 {
            let v1: crate::session::SessionStartedV1 = serde_json::from_slice(payload)?;
            return Ok(Self::Session(SessionEvent::Started(v1.upcast())));
        }
        let decoded = None
            .or_else(|| UserEvent::decode(event_type, payload).map(|r| r.map(Self::User)))
            .or_else(|| SessionEvent::decode(event_type, payload).map(|r| r.map(Self::Session)))
            .or_else(|| ResourceEvent::decode(event_type, payload).map(|r| r.map(Self::Resource)))
            .or_else(|| VoteEvent::decode(event_type, payload).map(|r| r.map(Self::Vote)))
            .or_else(|| BookmarkEvent::decode(event_type, payload).map(|r| r.map(Self::Bookmark)))
            .or_else(|| CommentEvent::decode(event_type, payload).map(|r| r.map(Self::Comment)))
            .or_else(|| {
                CommentVoteEvent::decode(event_type, payload).map(|r| r.map(Self::CommentVote))
            })
            .or_else(|| TagFilterEvent::decode(event_type, payload).map(|r| r.map(Self::TagFilter)))
            .or_else(|| FlagEvent::decode(event_type, payload).map(|r| r.map(Self::Flag)))
            .or_else(|| {
                NewsSourceEvent::decode(event_type, payload).map(|r| r.map(Self::NewsSource))
            });
        match decoded {
            Some(result) => Ok(result?),
            None => Err(DecodeError::UnknownType(event_type.ce_type())),
        }
    }

    pub fn to_payload(&self) -> Vec<u8> {
        // Serialising plain structs of strings, numbers and uuids cannot fail.
        serde_json::to_vec(self).expect("domain events serialise to JSON")
    }
}

/// Conversions between an aggregate's event set and [`DomainEvent`].
macro_rules! event_set_conversions {
    ($set:ty, $variant:ident) => {
        impl From<$set> for DomainEvent {
            fn from(event: $set) -> Self {
                DomainEvent::$variant(event)
            }
        }

        impl TryFrom<DomainEvent> for $set {
            type Error = DomainEvent;

            fn try_from(event: DomainEvent) -> Result<Self, DomainEvent> {
                match event {
                    DomainEvent::$variant(e) => Ok(e),
                    other => Err(other),
                }
            }
        }
    };
}

event_set_conversions!(UserEvent, User);
event_set_conversions!(SessionEvent, Session);
event_set_conversions!(ResourceEvent, Resource);
event_set_conversions!(VoteEvent, Vote);
event_set_conversions!(BookmarkEvent, Bookmark);
event_set_conversions!(CommentEvent, Comment);
event_set_conversions!(CommentVoteEvent, CommentVote);
event_set_conversions!(TagFilterEvent, TagFilter);
event_set_conversions!(FlagEvent, Flag);
event_set_conversions!(NewsSourceEvent, NewsSource);

/// Implements [`EventSet`] for an enum of one-field variants, from a table of
/// `Variant => EventType constant`.
macro_rules! event_set {
    ($set:ident { $($variant:ident => $event_type:ident),+ $(,)? }) => {
        impl $crate::event::EventSet for $set {
            fn event_type(&self) -> $crate::EventType {
                match self {
                    $(Self::$variant(_) => $crate::EventType::$event_type,)+
                }
            }

            fn decode(
                event_type: $crate::EventType,
                payload: &[u8],
            ) -> Option<serde_json::Result<Self>> {
                $(
                    if event_type == $crate::EventType::$event_type {
                        return Some(serde_json::from_slice(payload).map(Self::$variant));
                    }
                )+
                None
            }
        }
    };
}
pub(crate) use event_set;

/// A stored payload that cannot be turned back into a [`DomainEvent`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {0}")]
    UnknownType(String),
    #[error("{0} holds sealed personal data and was not opened")]
    Sealed(String),
    #[error("sealed personal data does not open: {0}")]
    Unsealable(String),
    #[error("payload does not match its schema: {0}")]
    Payload(#[from] serde_json::Error),
}
