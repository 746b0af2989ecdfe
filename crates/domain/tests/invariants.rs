//! Property tests of the domain's invariants: whatever sequence of commands
//! arrives, in whatever order and from whomever, these hold.

use chrono::DateTime;
use proptest::prelude::*;
use resourcify_domain::bookmark::{Bookmark, BookmarkCommand};
use resourcify_domain::comment::{Comment, CommentBody, CommentCommand};
use resourcify_domain::resource::{
    Resource, ResourceCommand, ResourceEdit, Submission, SubmitResource,
};
use resourcify_domain::user::{ProfileChange, User, UserCommand};
use resourcify_domain::vote::{Vote, VoteCommand, VoteEvent};
use resourcify_domain::{Actor, Aggregate, DomainError, Role};
use uuid::Uuid;

const AUTHOR: Uuid = Uuid::from_u128(1);

fn member(n: u128) -> Actor {
    Actor::member(Uuid::from_u128(n))
}

/// What a vote, a bookmark and a comment by `actor` on `resource` are
/// refused with (`None`: accepted).
fn marks_refused(actor: &Actor, resource: &Resource) -> [Option<DomainError>; 3] {
    let (actor, resource, at) = (actor.clone(), resource.clone(), DateTime::UNIX_EPOCH);
    let vote = VoteCommand::Cast {
        actor: actor.clone(),
        resource: resource.clone(),
        at,
    };
    let bookmark = BookmarkCommand::Add {
        actor: actor.clone(),
        resource: resource.clone(),
        at,
    };
    let comment = CommentCommand::Post {
        comment_id: Uuid::from_u128(5),
        actor,
        resource,
        parent: None,
        body: CommentBody::parse("hello").unwrap(),
        at,
    };
    [
        Vote::default().decide(&vote).err(),
        Bookmark::default().decide(&bookmark).err(),
        Comment::default().decide(&comment).err(),
    ]
}

fn submitted() -> Resource {
    let tags = vec!["rust".to_owned()];
    let submission = Submission {
        title: "A resource",
        url: "https://example.org/a",
        description: "",
        tags: &tags,
        kind: "article",
    }
    .validate()
    .unwrap();
    let command = ResourceCommand::Submit(SubmitResource {
        resource_id: Uuid::from_u128(100),
        actor: Actor::member(AUTHOR),
        submission,
        at: DateTime::UNIX_EPOCH,
    });
    let events = Resource::default().decide(&command).unwrap();
    Resource::from_history(&events)
}

fn apply<A: Aggregate>(state: A, command: &A::Command) -> (A, Vec<A::Event>) {
    match state.decide(command) {
        Ok(events) => (events.iter().fold(state, |s, e| s.evolve(e)), events),
        Err(_) => (state, Vec::new()),
    }
}

proptest! {
    /// Any interleaving of casts and withdrawals by any members keeps the
    /// count equal to the number of members whose vote stands, never below 0.
    #[test]
    fn vote_counts_are_never_negative(steps in prop::collection::vec((2u128..8, any::<bool>()), 0..200)) {
        let resource = submitted();
        let mut votes: Vec<Vote> = vec![Vote::default(); 8];
        let mut count: i64 = 0;
        for (voter, cast) in steps {
            let actor = member(voter);
            let at = DateTime::UNIX_EPOCH;
            let command = if cast {
                VoteCommand::Cast { actor, resource: resource.clone(), at }
            } else {
                VoteCommand::Withdraw { actor, resource: resource.clone(), at }
            };
            let (state, events) = apply(std::mem::take(&mut votes[voter as usize]), &command);
            votes[voter as usize] = state;
            for event in events {
                count += match event {
                    VoteEvent::Cast(_) => 1,
                    VoteEvent::Withdrawn(_) => -1,
                };
            }
            prop_assert!(count >= 0);
            prop_assert_eq!(count, votes.iter().filter(|v| v.active).count() as i64);
        }
    }

    /// Once retracted, a resource takes no vote, bookmark, comment or edit,
    /// from anyone, whatever happened to it before.
    #[test]
    fn a_retracted_resource_accepts_nothing(
        hide_first in any::<bool>(),
        voter in 2u128..100,
        moderator in any::<bool>(),
    ) {
        let mut resource = submitted();
        let staff = Actor { roles: [Role::Moderator].into(), ..member(99) };
        let at = DateTime::UNIX_EPOCH;
        if hide_first {
            let hide = ResourceCommand::Hide { actor: staff.clone(), reason: "spam".into(), at };
            resource = apply(resource, &hide).0;
            let restore = ResourceCommand::Restore { actor: staff.clone(), reason: "fine".into(), at };
            resource = apply(resource, &restore).0;
        }
        let retract = ResourceCommand::Retract { actor: Actor::member(AUTHOR), at };
        let (resource, events) = apply(resource, &retract);
        prop_assert_eq!(events.len(), 1);

        let actor = if moderator { Actor { roles: [Role::Admin].into(), ..member(voter) } } else { member(voter) };
        let not_found = Some(DomainError::NotFound("resource"));
        for refusal in marks_refused(&actor, &resource) {
            prop_assert_eq!(refusal, not_found.clone());
        }
        let edit = ResourceCommand::Edit {
            actor: Actor::member(AUTHOR),
            edit: ResourceEdit { title: Some("New title"), ..Default::default() }.validate().unwrap(),
            at,
        };
        prop_assert_eq!(resource.decide(&edit).err(), not_found);
    }

    /// A suspended user's every command that would change what others see is
    /// refused, whatever roles they hold.
    #[test]
    fn a_suspended_user_can_do_nothing(roles in prop::sample::subsequence(vec![Role::Moderator, Role::Admin], 0..=2), target in 2u128..50) {
        let at = DateTime::UNIX_EPOCH;
        let actor = Actor { user_id: AUTHOR, roles: roles.into_iter().collect(), suspended: true };
        let resource = submitted();
        let own_account = User::from_history(&User::default().decide(&UserCommand::Register(
            resourcify_domain::user::RegisterUser {
                user_id: AUTHOR,
                username: resourcify_domain::user::Username::parse("ada").unwrap(),
                email: resourcify_domain::user::Email::parse("ada@example.org").unwrap(),
                password_hash: "$argon2id$stub".into(),
                at,
            },
        )).unwrap());
        let other_account = User { id: Some(Uuid::from_u128(target)), ..User::default() };
        let tag = resourcify_domain::resource::Tag::parse("rust").unwrap();
        let reason = "reason".to_owned();

        let user_commands = [
            UserCommand::UpdateProfile { actor: actor.clone(), change: ProfileChange { bio: Some("hi"), ..Default::default() }.validate().unwrap(), at },
            UserCommand::ChangePassword { actor: actor.clone(), password_hash: "$argon2id$new".into(), at },
            UserCommand::FollowTag { actor: actor.clone(), tag: tag.clone(), at },
            UserCommand::FollowUser { actor: actor.clone(), followee_id: Uuid::from_u128(target), at },
        ];
        for command in &user_commands {
            prop_assert!(own_account.decide(command).is_err(), "{command:?}");
        }
        let staff_commands = [
            UserCommand::GrantRole { actor: actor.clone(), role: Role::Moderator, at },
            UserCommand::RevokeRole { actor: actor.clone(), role: Role::Moderator, at },
            UserCommand::Suspend { actor: actor.clone(), reason: reason.clone(), at },
            UserCommand::Reinstate { actor: actor.clone(), at },
        ];
        for command in &staff_commands {
            prop_assert!(other_account.decide(command).is_err(), "{command:?}");
        }
        let resource_commands = [
            ResourceCommand::Edit { actor: actor.clone(), edit: ResourceEdit { title: Some("New title"), ..Default::default() }.validate().unwrap(), at },
            ResourceCommand::Retract { actor: actor.clone(), at },
            ResourceCommand::Hide { actor: actor.clone(), reason: reason.clone(), at },
        ];
        for command in &resource_commands {
            prop_assert!(resource.decide(command).is_err(), "{command:?}");
        }
        for refusal in marks_refused(&actor, &resource) {
            prop_assert!(refusal.is_some());
        }
    }
}
