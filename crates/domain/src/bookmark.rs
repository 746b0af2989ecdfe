//! The bookmark aggregate: one member's private bookmark of one resource.
//! Like votes, each (member, resource) pair is its own aggregate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::event_set;
use crate::mark;
use crate::resource::Resource;
use crate::{Actor, Aggregate, DomainError};

const BOOKMARK_IDS: Uuid = Uuid::from_u128(0x2b7f_91c3_0e5a_4d86_b1f4_6a08_c9d2_735e);

/// The id of `user`'s bookmark of `resource_id`.
pub fn bookmark_id(user: Uuid, resource_id: Uuid) -> Uuid {
    mark::pair_id(&BOOKMARK_IDS, user, resource_id)
}

#[derive(Debug, Clone)]
pub enum BookmarkCommand {
    Add {
        actor: Actor,
        resource: Resource,
        at: DateTime<Utc>,
    },
    /// Needs no resource: a bookmark can always be dropped, even of a
    /// resource that has since gone.
    Remove {
        actor: Actor,
        resource_id: Uuid,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookmarkAdded {
    pub user_id: Uuid,
    pub resource_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookmarkRemoved {
    pub user_id: Uuid,
    pub resource_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BookmarkEvent {
    Added(BookmarkAdded),
    Removed(BookmarkRemoved),
}

event_set!(BookmarkEvent {
    Added => BOOKMARK_ADDED,
    Removed => BOOKMARK_REMOVED,
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bookmark {
    pub active: bool,
}

impl Aggregate for Bookmark {
    const NAME: &'static str = "bookmark";
    type Command = BookmarkCommand;
    type Event = BookmarkEvent;

    fn decide(&self, command: &BookmarkCommand) -> Result<Vec<BookmarkEvent>, DomainError> {
        match command {
            BookmarkCommand::Add {
                actor,
                resource,
                at,
            } => {
                let resource_id = resource.visible_to(actor)?;
                actor.ensure_active()?;
                let added = BookmarkEvent::Added(BookmarkAdded {
                    user_id: actor.user_id,
                    resource_id,
                    at: *at,
                });
                Ok(mark::turn(self.active, true, added))
            }
            BookmarkCommand::Remove {
                actor,
                resource_id,
                at,
            } => {
                actor.ensure_active()?;
                let removed = BookmarkEvent::Removed(BookmarkRemoved {
                    user_id: actor.user_id,
                    resource_id: *resource_id,
                    at: *at,
                });
                Ok(mark::turn(self.active, false, removed))
            }
        }
    }

    fn evolve(self, event: &BookmarkEvent) -> Self {
        Bookmark {
            active: matches!(event, BookmarkEvent::Added(_)),
        }
    }
}
