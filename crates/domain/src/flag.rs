//! The flags aggregate: the members' flags on one resource or comment,
//! whether they hold it for review, and a moderator's decision to keep it.
//!
//! One aggregate per flagged thing (its id is the resource's or the
//! comment's), so that "one flag per member" and "the N-th distinct flag
//! holds it" are one consistency boundary: two members flagging at once
//! contend for one subject, and the loser's retry counts the winner's
//! flag. The threshold in force travels in the command; whether a flag
//! starts a hold is decided here and recorded in the event, so that a
//! replay never asks a setting (ADR 21).
//!
//! A moderator ends a hold by keeping the thing (`flags.dismissed`, here)
//! or by taking it down (hiding a resource, removing a comment: the
//! resource's and comment's own events). A hide ends the current round of
//! flags: the command carries the resource's count of hides, the flags
//! carry the count they were raised under, and flags of an older count no
//! longer count.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::comment::Comment;
use crate::event::event_set;
use crate::resource::Resource;
use crate::{Actor, Aggregate, DomainError};

/// Distinct flags that hold a resource for review, unless the operator
/// says otherwise (`RESOURCIFY_FLAG_THRESHOLD`).
pub const DEFAULT_FLAG_THRESHOLD: u32 = 3;

/// Why a member flags something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagReason {
    Spam,
    OffTopic,
    BrokenLink,
    Duplicate,
    Other,
}

impl FlagReason {
    pub const ALL: [Self; 5] = [
        Self::Spam,
        Self::OffTopic,
        Self::BrokenLink,
        Self::Duplicate,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::OffTopic => "off-topic",
            Self::BrokenLink => "broken-link",
            Self::Duplicate => "duplicate",
            Self::Other => "other",
        }
    }
}

impl FromStr for FlagReason {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| "must be one of spam, off-topic, broken-link, duplicate, other".into())
    }
}

/// What is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagTarget {
    Resource,
    Comment,
}

impl FlagTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resource => "resource",
            Self::Comment => "comment",
        }
    }
}

/// The flagged thing's state, loaded by the caller: a resource, or a
/// comment with its resource.
#[derive(Debug, Clone)]
pub enum Flagged {
    Resource(Resource),
    Comment {
        comment: Comment,
        resource: Resource,
    },
}

impl Flagged {
    fn target(&self) -> FlagTarget {
        match self {
            Self::Resource(_) => FlagTarget::Resource,
            Self::Comment { .. } => FlagTarget::Comment,
        }
    }

    /// The thing's id, its resource's, and its author, if `actor` may see
    /// it; what one may not see is not found, as when reading it.
    fn seen_by(&self, actor: &Actor) -> Result<(Uuid, Uuid, Uuid), DomainError> {
        match self {
            Self::Resource(resource) => {
                let id = resource.visible_to(actor)?;
                Ok((id, id, resource.author_id))
            }
            Self::Comment { comment, resource } => {
                let id = comment.live()?;
                let resource_id = resource
                    .visible_to(actor)
                    .map_err(|_| DomainError::NotFound("comment"))?;
                if comment.resource_id != resource_id {
                    return Err(DomainError::NotFound("comment"));
                }
                Ok((id, resource_id, comment.author_id))
            }
        }
    }

    /// Which round of flags is current: a resource's count of hides (a
    /// hide ends a round); a removed comment is never flagged again.
    fn round(&self) -> u32 {
        match self {
            Self::Resource(resource) => resource.hidings,
            Self::Comment { .. } => 0,
        }
    }
}

#[derive(Debug, Clone)]
pub enum FlagCommand {
    /// `threshold`: the distinct flags that hold the thing for review, as
    /// the operator set it when the command is given.
    Raise {
        actor: Actor,
        flagged: Flagged,
        reason: FlagReason,
        threshold: u32,
        at: DateTime<Utc>,
    },
    Withdraw {
        actor: Actor,
        flagged: Flagged,
        at: DateTime<Utc>,
    },
    /// A moderator keeps the thing: its flags are dismissed, its hold ends.
    Dismiss {
        actor: Actor,
        flagged: Flagged,
        reason: String,
        at: DateTime<Utc>,
    },
}

/// A member flagged a resource or comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRaised {
    pub target: FlagTarget,
    pub target_id: Uuid,
    /// The resource flagged, or the one the comment is on.
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub reason: FlagReason,
    /// The round of flags it counts in (see the module's documentation).
    pub round: u32,
    /// The distinct flags that held a thing when this was raised.
    pub threshold: u32,
    /// Whether this flag put the thing on hold for review: it reached the
    /// threshold and the thing was not held already.
    pub held: bool,
    pub at: DateTime<Utc>,
}

/// A member took their flag back. A hold, once begun, stays until a
/// moderator decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagWithdrawn {
    pub target: FlagTarget,
    pub target_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub round: u32,
    pub at: DateTime<Utc>,
}

/// A moderator kept the thing: its open flags are dismissed and its hold,
/// if any, ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagsDismissed {
    pub target: FlagTarget,
    pub target_id: Uuid,
    pub resource_id: Uuid,
    pub round: u32,
    /// How many open flags were dismissed.
    pub flags: u32,
    pub reason: String,
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FlagEvent {
    Raised(FlagRaised),
    Withdrawn(FlagWithdrawn),
    Dismissed(FlagsDismissed),
}

event_set!(FlagEvent {
    Raised => FLAGS_RAISED,
    Withdrawn => FLAGS_WITHDRAWN,
    Dismissed => FLAGS_DISMISSED,
});

/// The open flags on one thing, of its current round, and whether they
/// hold it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    pub round: u32,
    pub open: BTreeMap<Uuid, FlagReason>,
    pub held: bool,
}

impl Flags {
    /// The state as of `round`: flags of an earlier round no longer count.
    fn in_round(&self, round: u32) -> Self {
        if round == self.round {
            self.clone()
        } else {
            Self {
                round,
                ..Self::default()
            }
        }
    }
}

impl Aggregate for Flags {
    const NAME: &'static str = "flags";
    type Command = FlagCommand;
    type Event = FlagEvent;

    fn decide(&self, command: &FlagCommand) -> Result<Vec<FlagEvent>, DomainError> {
        let (FlagCommand::Raise {
            actor, flagged, at, ..
        }
        | FlagCommand::Withdraw { actor, flagged, at }
        | FlagCommand::Dismiss {
            actor, flagged, at, ..
        }) = command;
        if let FlagCommand::Dismiss { .. } = command {
            actor.ensure_moderator()?;
        }
        let (target_id, resource_id, author_id) = flagged.seen_by(actor)?;
        actor.ensure_active()?;
        let (target, round, at) = (flagged.target(), flagged.round(), *at);
        let state = self.in_round(round);
        let event = match command {
            FlagCommand::Raise {
                reason, threshold, ..
            } => {
                if author_id == actor.user_id {
                    return Err(DomainError::Forbidden("you cannot flag your own content"));
                }
                if state.open.contains_key(&actor.user_id) {
                    return Err(DomainError::Conflict("you have already flagged this"));
                }
                let count = u32::try_from(state.open.len() + 1).unwrap_or(u32::MAX);
                FlagEvent::Raised(FlagRaised {
                    target,
                    target_id,
                    resource_id,
                    user_id: actor.user_id,
                    reason: *reason,
                    round,
                    threshold: *threshold,
                    held: !state.held && count >= *threshold,
                    at,
                })
            }
            FlagCommand::Withdraw { .. } => {
                if !state.open.contains_key(&actor.user_id) {
                    return Ok(Vec::new());
                }
                FlagEvent::Withdrawn(FlagWithdrawn {
                    target,
                    target_id,
                    resource_id,
                    user_id: actor.user_id,
                    round,
                    at,
                })
            }
            FlagCommand::Dismiss { reason, .. } => {
                if state.open.is_empty() && !state.held {
                    return Err(DomainError::Conflict("there are no flags to dismiss"));
                }
                FlagEvent::Dismissed(FlagsDismissed {
                    target,
                    target_id,
                    resource_id,
                    round,
                    flags: u32::try_from(state.open.len()).unwrap_or(u32::MAX),
                    reason: reason.clone(),
                    moderator_id: actor.recorded_id(),
                    at,
                })
            }
        };
        Ok(vec![event])
    }

    fn evolve(self, event: &FlagEvent) -> Self {
        match event {
            FlagEvent::Raised(e) => {
                let mut state = self.in_round(e.round);
                state.open.insert(e.user_id, e.reason);
                state.held |= e.held;
                state
            }
            FlagEvent::Withdrawn(e) => {
                let mut state = self.in_round(e.round);
                state.open.remove(&e.user_id);
                state
            }
            FlagEvent::Dismissed(e) => Self {
                round: e.round,
                ..Self::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ResourceEvent;

    const AUTHOR: Uuid = Uuid::from_u128(1);
    const RESOURCE: Uuid = Uuid::from_u128(10);

    fn resource() -> Resource {
        crate::resource::testing::submitted(RESOURCE, AUTHOR)
    }

    fn member(n: u128) -> Actor {
        Actor::member(Uuid::from_u128(100 + n))
    }

    fn moderator() -> Actor {
        let mut actor = member(99);
        actor.roles.insert(crate::Role::Moderator);
        actor
    }

    fn raise(actor: Actor, resource: &Resource, threshold: u32) -> FlagCommand {
        FlagCommand::Raise {
            actor,
            flagged: Flagged::Resource(resource.clone()),
            reason: FlagReason::Spam,
            threshold,
            at: DateTime::UNIX_EPOCH,
        }
    }

    fn run(state: Flags, command: &FlagCommand) -> (Flags, Vec<FlagEvent>) {
        let events = state.decide(command).unwrap();
        (events.iter().fold(state, |s, e| s.evolve(e)), events)
    }

    fn held(events: &[FlagEvent]) -> bool {
        matches!(events, [FlagEvent::Raised(FlagRaised { held: true, .. })])
    }

    #[test]
    fn the_threshold_th_distinct_flag_holds_the_resource_once() {
        let r = resource();
        let (state, first) = run(Flags::default(), &raise(member(1), &r, 2));
        assert!(!held(&first));
        let (state, second) = run(state, &raise(member(2), &r, 2));
        assert!(held(&second));
        let (state, third) = run(state, &raise(member(3), &r, 2));
        assert!(!held(&third), "a held resource is not held again");
        assert!(state.held);
        assert_eq!(state.open.len(), 3);
    }

    #[test]
    fn a_withdrawn_flag_no_longer_counts_towards_the_hold() {
        let r = resource();
        let (state, _) = run(Flags::default(), &raise(member(1), &r, 2));
        let withdraw = FlagCommand::Withdraw {
            actor: member(1),
            flagged: Flagged::Resource(r.clone()),
            at: DateTime::UNIX_EPOCH,
        };
        let (state, events) = run(state, &withdraw);
        assert!(matches!(events.as_slice(), [FlagEvent::Withdrawn(_)]));
        assert!(run(state.clone(), &withdraw).1.is_empty(), "idempotent");
        let (_, events) = run(state, &raise(member(2), &r, 2));
        assert!(!held(&events));
    }

    #[test]
    fn one_flag_per_member_and_never_on_ones_own() {
        let r = resource();
        let (state, _) = run(Flags::default(), &raise(member(1), &r, 3));
        let twice = state.decide(&raise(member(1), &r, 3));
        assert!(matches!(twice, Err(DomainError::Conflict(_))));
        let own = Flags::default().decide(&raise(Actor::member(AUTHOR), &r, 3));
        assert!(matches!(own, Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn a_moderator_keeping_it_ends_the_hold_and_members_only_may_not() {
        let r = resource();
        let (state, _) = run(Flags::default(), &raise(member(1), &r, 1));
        assert!(state.held);
        let keep = |actor| FlagCommand::Dismiss {
            actor,
            flagged: Flagged::Resource(r.clone()),
            reason: "Fine as it is".into(),
            at: DateTime::UNIX_EPOCH,
        };
        let refused = state.decide(&keep(member(2)));
        assert!(matches!(refused, Err(DomainError::Forbidden(_))));
        let (state, events) = run(state, &keep(moderator()));
        assert!(matches!(
            events.as_slice(),
            [FlagEvent::Dismissed(FlagsDismissed { flags: 1, .. })]
        ));
        assert_eq!(state, Flags::default());
        let again = state.decide(&keep(moderator()));
        assert!(matches!(again, Err(DomainError::Conflict(_))));
    }

    #[test]
    fn a_hide_ends_the_round_of_flags() {
        let r = resource();
        let (state, _) = run(Flags::default(), &raise(member(1), &r, 1));
        assert!(state.held);
        let hidden = ResourceEvent::Hidden(crate::resource::ResourceHidden {
            resource_id: RESOURCE,
            reason: "spam".into(),
            moderator_id: None,
            at: DateTime::UNIX_EPOCH,
        });
        let restored = ResourceEvent::Restored(crate::resource::ResourceRestored {
            resource_id: RESOURCE,
            reason: "not spam".into(),
            moderator_id: None,
            at: DateTime::UNIX_EPOCH,
        });
        let r = r.evolve(&hidden).evolve(&restored);
        let (state, events) = run(state, &raise(member(1), &r, 1));
        assert!(held(&events), "a new round: the same member flags anew");
        assert_eq!(state.round, 1);
        assert_eq!(state.open.len(), 1);
    }

    #[test]
    fn reasons_read_as_they_are_written() {
        for reason in FlagReason::ALL {
            assert_eq!(reason.as_str().parse::<FlagReason>(), Ok(reason));
            let json = serde_json::to_value(reason).unwrap();
            assert_eq!(json, reason.as_str());
        }
        assert!("rude".parse::<FlagReason>().is_err());
    }
}
