//! The vote aggregate: one member's upvote on one resource.
//!
//! Each (resource, voter) pair is its own aggregate, so votes by different
//! members never contend for one subject, and "one vote per member" is the
//! pair's own consistency rule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::event_set;
use crate::mark;
use crate::resource::Resource;
use crate::{Actor, Aggregate, DomainError};

const VOTE_IDS: Uuid = Uuid::from_u128(0x8c1e_52a4_7d0b_4f3e_a6b9_13c5_e2f7_0d48);

/// The id of `voter`'s vote on `resource_id`.
pub fn vote_id(resource_id: Uuid, voter: Uuid) -> Uuid {
    mark::pair_id(&VOTE_IDS, resource_id, voter)
}

/// `resource` is the voted resource's state, loaded by the caller.
#[derive(Debug, Clone)]
pub enum VoteCommand {
    Cast {
        actor: Actor,
        resource: Resource,
        at: DateTime<Utc>,
    },
    Withdraw {
        actor: Actor,
        resource: Resource,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteCast {
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteWithdrawn {
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VoteEvent {
    Cast(VoteCast),
    Withdrawn(VoteWithdrawn),
}

event_set!(VoteEvent {
    Cast => VOTE_CAST,
    Withdrawn => VOTE_WITHDRAWN,
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vote {
    pub active: bool,
}

impl Aggregate for Vote {
    const NAME: &'static str = "vote";
    type Command = VoteCommand;
    type Event = VoteEvent;

    fn decide(&self, command: &VoteCommand) -> Result<Vec<VoteEvent>, DomainError> {
        let (VoteCommand::Cast {
            actor,
            resource,
            at,
        }
        | VoteCommand::Withdraw {
            actor,
            resource,
            at,
        }) = command;
        let resource_id = resource.visible_to(actor)?;
        actor.ensure_active()?;
        let cast = matches!(command, VoteCommand::Cast { .. });
        if cast && resource.author_id == actor.user_id {
            return Err(DomainError::Forbidden(
                "you cannot upvote your own resource",
            ));
        }
        let (user_id, at) = (actor.user_id, *at);
        let event = if cast {
            VoteEvent::Cast(VoteCast {
                resource_id,
                user_id,
                at,
            })
        } else {
            VoteEvent::Withdrawn(VoteWithdrawn {
                resource_id,
                user_id,
                at,
            })
        };
        Ok(mark::turn(self.active, cast, event))
    }

    fn evolve(self, event: &VoteEvent) -> Self {
        Vote {
            active: matches!(event, VoteEvent::Cast(_)),
        }
    }
}
