//! The comment-vote aggregate: one member's vote, up or down, on one
//! comment.
//!
//! Unlike a resource's, a comment's vote goes either way: a thread sorted
//! by `top` ranks each comment by the Wilson score lower bound of its
//! share of upvotes ([`wilson_lower_bound`]), which needs the downvotes to
//! mean anything (with upvotes alone it is the plain count, reordered by
//! nothing). Each (comment, voter) pair is its own aggregate, so votes by
//! different members never contend and "one vote per member" is the
//! pair's own consistency rule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::comment::Comment;
use crate::event::event_set;
use crate::mark;
use crate::resource::Resource;
use crate::{Actor, Aggregate, DomainError};

const COMMENT_VOTE_IDS: Uuid = Uuid::from_u128(0x3f6a_91d2_5c4e_4b7a_8e21_7d09_b4c3_a65e);

/// The id of `voter`'s vote on `comment_id`.
pub fn comment_vote_id(comment_id: Uuid, voter: Uuid) -> Uuid {
    mark::pair_id(&COMMENT_VOTE_IDS, comment_id, voter)
}

/// Which way a vote on a comment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoteDirection {
    Up,
    Down,
}

impl VoteDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// The z of the Wilson score interval that `sort=top` ranks comments by:
/// 1.96, a 95 % confidence level.
pub const WILSON_Z: f64 = 1.96;

/// The lower bound of the Wilson score interval of a comment's share of
/// upvotes, at [`WILSON_Z`]:
///
/// ```text
/// n = up + down,  p = up / n
/// (p + z²/2n − z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n),   0 when n = 0
/// ```
///
/// How sure one can be that most readers like it: two upvotes out of two
/// (0.34) rank above three out of five (0.23), which a count of upvotes
/// would order the other way. The read model computes the same in SQL
/// (`comment_wilson`, in the migration `20261207120000_comment_votes_karma`);
/// this is its reference, which a test holds it to.
pub fn wilson_lower_bound(up: u32, down: u32) -> f64 {
    let n = f64::from(up) + f64::from(down);
    if n == 0.0 {
        return 0.0;
    }
    let (p, z2) = (f64::from(up) / n, WILSON_Z * WILSON_Z);
    (p + z2 / (2.0 * n) - WILSON_Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt())
        / (1.0 + z2 / n)
}

/// `comment` and `resource` are the voted comment's state and its
/// resource's, loaded by the caller.
#[derive(Debug, Clone)]
pub enum CommentVoteCommand {
    Cast {
        actor: Actor,
        comment: Comment,
        resource: Resource,
        direction: VoteDirection,
        at: DateTime<Utc>,
    },
    Withdraw {
        actor: Actor,
        comment: Comment,
        resource: Resource,
        at: DateTime<Utc>,
    },
}

/// A member voted on a comment, or turned their vote the other way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentVoteCast {
    pub comment_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub direction: VoteDirection,
    pub at: DateTime<Utc>,
}

/// A member took their vote on a comment back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentVoteWithdrawn {
    pub comment_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CommentVoteEvent {
    Cast(CommentVoteCast),
    Withdrawn(CommentVoteWithdrawn),
}

event_set!(CommentVoteEvent {
    Cast => COMMENT_VOTE_CAST,
    Withdrawn => COMMENT_VOTE_WITHDRAWN,
});

/// One member's vote on one comment: which way it goes, if it stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommentVote {
    pub direction: Option<VoteDirection>,
}

impl Aggregate for CommentVote {
    const NAME: &'static str = "comment-vote";
    type Command = CommentVoteCommand;
    type Event = CommentVoteEvent;

    fn decide(&self, command: &CommentVoteCommand) -> Result<Vec<CommentVoteEvent>, DomainError> {
        let (CommentVoteCommand::Cast {
            actor,
            comment,
            resource,
            at,
            ..
        }
        | CommentVoteCommand::Withdraw {
            actor,
            comment,
            resource,
            at,
        }) = command;
        // What one may not see (a hidden or retracted resource, a deleted
        // or removed comment) is not found, as when reading the thread.
        let comment_id = comment.live()?;
        let resource_id = resource
            .visible_to(actor)
            .map_err(|_| DomainError::NotFound("comment"))?;
        if comment.resource_id != resource_id {
            return Err(DomainError::NotFound("comment"));
        }
        actor.ensure_active()?;
        let (user_id, at) = (actor.user_id, *at);
        let event = match command {
            CommentVoteCommand::Cast { direction, .. } => {
                if comment.author_id == actor.user_id {
                    return Err(DomainError::Forbidden(
                        "you cannot vote on your own comment",
                    ));
                }
                if self.direction == Some(*direction) {
                    return Ok(Vec::new());
                }
                CommentVoteEvent::Cast(CommentVoteCast {
                    comment_id,
                    resource_id,
                    user_id,
                    direction: *direction,
                    at,
                })
            }
            CommentVoteCommand::Withdraw { .. } => {
                let withdrawn = CommentVoteEvent::Withdrawn(CommentVoteWithdrawn {
                    comment_id,
                    resource_id,
                    user_id,
                    at,
                });
                return Ok(mark::turn(self.direction.is_some(), false, withdrawn));
            }
        };
        Ok(vec![event])
    }

    fn evolve(self, event: &CommentVoteEvent) -> Self {
        CommentVote {
            direction: match event {
                CommentVoteEvent::Cast(e) => Some(e.direction),
                CommentVoteEvent::Withdrawn(_) => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comment::{CommentBody, CommentCommand};

    const AUTHOR: Uuid = Uuid::from_u128(1);
    const VOTER: Uuid = Uuid::from_u128(2);
    const RESOURCE: Uuid = Uuid::from_u128(10);
    const COMMENT: Uuid = Uuid::from_u128(20);

    fn resource() -> Resource {
        crate::resource::testing::submitted(RESOURCE, Uuid::from_u128(3))
    }

    fn comment(resource: &Resource) -> Comment {
        let command = CommentCommand::Post {
            comment_id: COMMENT,
            actor: Actor::member(AUTHOR),
            resource: resource.clone(),
            parent: None,
            body: CommentBody::parse("A comment.").unwrap(),
            at: DateTime::UNIX_EPOCH,
        };
        let events = Comment::default().decide(&command).unwrap();
        events.iter().fold(Comment::default(), |c, e| c.evolve(e))
    }

    fn cast(actor: Actor, comment: &Comment, direction: VoteDirection) -> CommentVoteCommand {
        CommentVoteCommand::Cast {
            actor,
            comment: comment.clone(),
            resource: resource(),
            direction,
            at: DateTime::UNIX_EPOCH,
        }
    }

    fn withdraw(actor: Actor, comment: &Comment) -> CommentVoteCommand {
        CommentVoteCommand::Withdraw {
            actor,
            comment: comment.clone(),
            resource: resource(),
            at: DateTime::UNIX_EPOCH,
        }
    }

    /// Given the events of `commands` so far, the events of the last.
    fn run(commands: &[CommentVoteCommand]) -> Vec<CommentVoteEvent> {
        let mut state = CommentVote::default();
        let mut last = Vec::new();
        for command in commands {
            last = state.decide(command).unwrap();
            state = last.iter().fold(state, |s, e| s.evolve(e));
        }
        last
    }

    #[test]
    fn a_vote_cast_twice_the_same_way_records_nothing_the_second_time() {
        let comment = comment(&resource());
        let up = cast(Actor::member(VOTER), &comment, VoteDirection::Up);
        assert_eq!(run(std::slice::from_ref(&up)).len(), 1);
        assert!(run(&[up.clone(), up]).is_empty());
    }

    #[test]
    fn a_vote_turned_the_other_way_is_cast_again() {
        let comment = comment(&resource());
        let up = cast(Actor::member(VOTER), &comment, VoteDirection::Up);
        let down = cast(Actor::member(VOTER), &comment, VoteDirection::Down);
        let events = run(&[up, down]);
        assert!(matches!(
            events.as_slice(),
            [CommentVoteEvent::Cast(CommentVoteCast {
                direction: VoteDirection::Down,
                ..
            })]
        ));
    }

    #[test]
    fn withdrawing_is_idempotent() {
        let comment = comment(&resource());
        let voter = Actor::member(VOTER);
        assert!(run(&[withdraw(voter.clone(), &comment)]).is_empty());
        let up = cast(voter.clone(), &comment, VoteDirection::Up);
        let events = run(&[up.clone(), withdraw(voter.clone(), &comment)]);
        assert!(matches!(
            events.as_slice(),
            [CommentVoteEvent::Withdrawn(_)]
        ));
        assert!(
            run(&[
                up,
                withdraw(voter.clone(), &comment),
                withdraw(voter, &comment)
            ])
            .is_empty()
        );
    }

    #[test]
    fn one_may_not_vote_on_ones_own_comment() {
        let comment = comment(&resource());
        let refused = CommentVote::default().decide(&cast(
            Actor::member(AUTHOR),
            &comment,
            VoteDirection::Up,
        ));
        assert!(matches!(refused, Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn a_deleted_comment_is_not_found() {
        let resource = resource();
        let mut comment = comment(&resource);
        comment.gone = true;
        for command in [
            cast(Actor::member(VOTER), &comment, VoteDirection::Up),
            withdraw(Actor::member(VOTER), &comment),
        ] {
            let refused = CommentVote::default().decide(&command);
            assert_eq!(refused, Err(DomainError::NotFound("comment")));
        }
    }

    #[test]
    fn a_suspended_member_may_not_vote() {
        let comment = comment(&resource());
        let mut voter = Actor::member(VOTER);
        voter.suspended = true;
        let refused = CommentVote::default().decide(&cast(voter, &comment, VoteDirection::Down));
        assert_eq!(
            refused,
            Err(DomainError::Forbidden("this account is suspended"))
        );
    }

    #[test]
    fn wilson_ranks_certainty_above_a_bare_count_of_upvotes() {
        assert_eq!(wilson_lower_bound(0, 0), 0.0);
        let (two_of_two, three_of_five) = (wilson_lower_bound(2, 0), wilson_lower_bound(3, 2));
        assert!((two_of_two - 0.3424).abs() < 1e-4, "{two_of_two}");
        assert!((three_of_five - 0.2307).abs() < 1e-4, "{three_of_five}");
        assert!(wilson_lower_bound(10, 0) > wilson_lower_bound(1, 0));
        assert!(wilson_lower_bound(5, 5) < wilson_lower_bound(5, 0));
    }
}
