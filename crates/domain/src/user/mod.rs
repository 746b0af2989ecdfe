//! The user aggregate: an account, its standing (roles, suspension) and
//! what it follows.

mod events;
mod values;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::resource::Tag;
use crate::{Actor, Aggregate, DomainError, Role, ValidationErrors};

pub use events::*;
pub use values::{
    Email, Profile, ProfileChange, Registration, Username, ValidProfileChange, ValidRegistration,
    check_password,
};

/// How many tags and members one member may follow, together.
pub const MAX_FOLLOWS: usize = 1_000;

/// Commands on a user. `actor` is who asks; the aggregate is the target.
#[derive(Debug, Clone)]
pub enum UserCommand {
    Register(RegisterUser),
    UpdateProfile {
        actor: Actor,
        change: ValidProfileChange,
        at: DateTime<Utc>,
    },
    /// The caller has checked the old password; this records the new hash.
    ChangePassword {
        actor: Actor,
        password_hash: String,
        at: DateTime<Utc>,
    },
    FollowTag {
        actor: Actor,
        tag: Tag,
        at: DateTime<Utc>,
    },
    UnfollowTag {
        actor: Actor,
        tag: Tag,
        at: DateTime<Utc>,
    },
    /// The caller has checked that the followee exists.
    FollowUser {
        actor: Actor,
        followee_id: Uuid,
        at: DateTime<Utc>,
    },
    UnfollowUser {
        actor: Actor,
        followee_id: Uuid,
        at: DateTime<Utc>,
    },
    GrantRole {
        actor: Actor,
        role: Role,
        at: DateTime<Utc>,
    },
    RevokeRole {
        actor: Actor,
        role: Role,
        at: DateTime<Utc>,
    },
    Suspend {
        actor: Actor,
        reason: String,
        at: DateTime<Utc>,
    },
    Reinstate {
        actor: Actor,
        at: DateTime<Utc>,
    },
    Delete {
        actor: Actor,
        at: DateTime<Utc>,
    },
    /// Log out everywhere.
    RevokeSessions {
        actor: Actor,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone)]
pub struct RegisterUser {
    pub user_id: Uuid,
    pub username: Username,
    pub email: Email,
    /// An argon2id PHC string; the plain password never reaches an event.
    pub password_hash: String,
    pub at: DateTime<Utc>,
}

/// What the write side knows about a user to decide commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub id: Option<Uuid>,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub roles: BTreeSet<Role>,
    pub suspended: bool,
    pub deleted: bool,
    pub profile: Profile,
    pub followed_tags: BTreeSet<String>,
    pub followed_users: BTreeSet<Uuid>,
}

impl User {
    /// The account, if it exists and is not deleted.
    fn existing(&self) -> Result<Uuid, DomainError> {
        match self.id {
            Some(id) if !self.deleted => Ok(id),
            _ => Err(DomainError::NotFound("user")),
        }
    }

    /// The account, if `actor` is its owner.
    fn owned_by(&self, actor: &Actor) -> Result<Uuid, DomainError> {
        let id = self.existing()?;
        if actor.user_id == id {
            Ok(id)
        } else {
            Err(DomainError::Forbidden(
                "only the account's owner may do this",
            ))
        }
    }

    /// Refuses one follow more than [`MAX_FOLLOWS`], tags and members
    /// together: a feed of more is no one's reading, and each follow is a
    /// list the personal feed merges.
    fn ensure_room_to_follow(&self) -> Result<(), DomainError> {
        if self.followed_tags.len() + self.followed_users.len() >= MAX_FOLLOWS {
            return Err(DomainError::Conflict(
                "you follow as many tags and members as one may (1,000); unfollow some first",
            ));
        }
        Ok(())
    }

    /// The account, if `actor` owns it and may change things: neither the
    /// token's view of the actor nor the account itself is suspended.
    fn owned_by_active(&self, actor: &Actor) -> Result<Uuid, DomainError> {
        let id = self.owned_by(actor)?;
        actor.ensure_active()?;
        if self.suspended {
            return Err(DomainError::Forbidden("this account is suspended"));
        }
        Ok(id)
    }

    /// Moderators act on members; only administrators act on staff.
    fn moderated_by(&self, actor: &Actor) -> Result<Uuid, DomainError> {
        let id = self.existing()?;
        actor.ensure_moderator()?;
        if actor.user_id == id {
            return Err(DomainError::Forbidden(
                "moderators cannot act on themselves",
            ));
        }
        if !self.roles.is_empty() && !actor.is_admin() {
            return Err(DomainError::Forbidden(
                "only administrators may act on moderators and administrators",
            ));
        }
        Ok(id)
    }
}

fn staff_role(role: Role) -> Result<Role, DomainError> {
    match role {
        Role::Member => Err(ValidationErrors::single("role", "every user is a member").into()),
        staff => Ok(staff),
    }
}

impl Aggregate for User {
    const NAME: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;

    fn decide(&self, command: &UserCommand) -> Result<Vec<UserEvent>, DomainError> {
        use UserCommand as C;
        let event = match command {
            C::Register(cmd) => {
                if self.id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "user",
                        id: cmd.user_id.to_string(),
                    });
                }
                UserEvent::Registered(UserRegistered {
                    user_id: cmd.user_id,
                    username: cmd.username.as_str().to_owned(),
                    email: cmd.email.as_str().to_owned(),
                    password_hash: cmd.password_hash.clone(),
                    registered_at: cmd.at,
                })
            }
            C::UpdateProfile { actor, change, at } => {
                let user_id = self.owned_by_active(actor)?;
                let current = &self.profile;
                let pick = |new: &Option<String>, old: &String| new.clone().unwrap_or(old.clone());
                let display_name = pick(&change.display_name, &current.display_name);
                let bio = pick(&change.bio, &current.bio);
                let website = pick(&change.website, &current.website);
                if (&display_name, &bio, &website)
                    == (&current.display_name, &current.bio, &current.website)
                {
                    return Ok(vec![]);
                }
                UserEvent::ProfileUpdated(ProfileUpdated {
                    user_id,
                    display_name,
                    bio,
                    website,
                    at: *at,
                })
            }
            C::ChangePassword {
                actor,
                password_hash,
                at,
            } => UserEvent::PasswordChanged(PasswordChanged {
                user_id: self.owned_by_active(actor)?,
                password_hash: password_hash.clone(),
                at: *at,
            }),
            C::FollowTag { actor, tag, at } => {
                let user_id = self.owned_by_active(actor)?;
                if self.followed_tags.contains(tag.as_str()) {
                    return Ok(vec![]);
                }
                self.ensure_room_to_follow()?;
                UserEvent::TagFollowed(TagFollowed {
                    user_id,
                    tag: tag.as_str().to_owned(),
                    at: *at,
                })
            }
            C::UnfollowTag { actor, tag, at } => {
                let user_id = self.owned_by_active(actor)?;
                if !self.followed_tags.contains(tag.as_str()) {
                    return Ok(vec![]);
                }
                UserEvent::TagUnfollowed(TagUnfollowed {
                    user_id,
                    tag: tag.as_str().to_owned(),
                    at: *at,
                })
            }
            C::FollowUser {
                actor,
                followee_id,
                at,
            } => {
                let user_id = self.owned_by_active(actor)?;
                if *followee_id == user_id {
                    return Err(
                        ValidationErrors::single("username", "you cannot follow yourself").into(),
                    );
                }
                if self.followed_users.contains(followee_id) {
                    return Ok(vec![]);
                }
                self.ensure_room_to_follow()?;
                UserEvent::UserFollowed(UserFollowed {
                    user_id,
                    followee_id: *followee_id,
                    at: *at,
                })
            }
            C::UnfollowUser {
                actor,
                followee_id,
                at,
            } => {
                let user_id = self.owned_by_active(actor)?;
                if !self.followed_users.contains(followee_id) {
                    return Ok(vec![]);
                }
                UserEvent::UserUnfollowed(UserUnfollowed {
                    user_id,
                    followee_id: *followee_id,
                    at: *at,
                })
            }
            C::GrantRole { actor, role, at } => {
                let user_id = self.existing()?;
                actor.ensure_admin()?;
                let role = staff_role(*role)?;
                if self.roles.contains(&role) {
                    return Ok(vec![]);
                }
                UserEvent::RoleGranted(RoleGranted {
                    user_id,
                    role,
                    granted_by: actor.recorded_id(),
                    at: *at,
                })
            }
            C::RevokeRole { actor, role, at } => {
                let user_id = self.existing()?;
                actor.ensure_admin()?;
                let role = staff_role(*role)?;
                if role == Role::Admin && actor.user_id == user_id {
                    return Err(DomainError::Conflict(
                        "administrators cannot revoke their own admin role",
                    ));
                }
                if !self.roles.contains(&role) {
                    return Ok(vec![]);
                }
                UserEvent::RoleRevoked(RoleRevoked {
                    user_id,
                    role,
                    revoked_by: actor.recorded_id(),
                    at: *at,
                })
            }
            C::Suspend { actor, reason, at } => {
                let user_id = self.moderated_by(actor)?;
                if self.suspended {
                    return Ok(vec![]);
                }
                UserEvent::Suspended(UserSuspended {
                    user_id,
                    reason: reason.clone(),
                    suspended_by: actor.recorded_id(),
                    at: *at,
                })
            }
            C::Reinstate { actor, at } => {
                let user_id = self.moderated_by(actor)?;
                if !self.suspended {
                    return Ok(vec![]);
                }
                UserEvent::Reinstated(UserReinstated {
                    user_id,
                    reinstated_by: actor.recorded_id(),
                    at: *at,
                })
            }
            // Leaving and logging out stay open to a suspended user: neither
            // changes anything anyone else sees.
            C::Delete { actor, at } => UserEvent::Deleted(UserDeleted {
                user_id: self.owned_by(actor)?,
                at: *at,
            }),
            C::RevokeSessions { actor, at } => UserEvent::SessionsRevoked(SessionsRevoked {
                user_id: self.owned_by(actor)?,
                at: *at,
            }),
        };
        Ok(vec![event])
    }

    fn evolve(mut self, event: &UserEvent) -> Self {
        match event {
            UserEvent::Registered(e) => {
                self.id = Some(e.user_id);
                self.username = e.username.clone();
                self.email = e.email.clone();
                self.password_hash = e.password_hash.clone();
            }
            UserEvent::ProfileUpdated(e) => {
                self.profile = Profile {
                    display_name: e.display_name.clone(),
                    bio: e.bio.clone(),
                    website: e.website.clone(),
                };
            }
            UserEvent::PasswordChanged(e) => self.password_hash = e.password_hash.clone(),
            UserEvent::TagFollowed(e) => {
                self.followed_tags.insert(e.tag.clone());
            }
            UserEvent::TagUnfollowed(e) => {
                self.followed_tags.remove(&e.tag);
            }
            UserEvent::UserFollowed(e) => {
                self.followed_users.insert(e.followee_id);
            }
            UserEvent::UserUnfollowed(e) => {
                self.followed_users.remove(&e.followee_id);
            }
            UserEvent::RoleGranted(e) => {
                self.roles.insert(e.role);
            }
            UserEvent::RoleRevoked(e) => {
                self.roles.remove(&e.role);
            }
            UserEvent::Suspended(_) => self.suspended = true,
            UserEvent::Reinstated(_) => self.suspended = false,
            UserEvent::Deleted(_) => {
                self.deleted = true;
                self.password_hash.clear();
                self.profile = Profile::default();
            }
            UserEvent::SessionsRevoked(_) => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(user_id: Uuid) -> UserCommand {
        UserCommand::Register(RegisterUser {
            user_id,
            username: Username::parse("Ada_Lovelace").unwrap(),
            email: Email::parse(" Ada@Example.org ").unwrap(),
            password_hash: "$argon2id$stub".into(),
            at: DateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn registering_a_new_user_records_normalised_names() {
        let id = Uuid::from_u128(1);
        let events = User::default().decide(&register(id)).unwrap();
        let [UserEvent::Registered(e)] = events.as_slice() else {
            panic!("expected one UserRegistered, got {events:?}")
        };
        assert_eq!(e.username, "ada_lovelace");
        assert_eq!(e.email, "ada@example.org");
        assert_eq!(e.user_id, id);
    }

    #[test]
    fn registering_twice_is_refused() {
        let id = Uuid::from_u128(1);
        let user = User::from_history(&User::default().decide(&register(id)).unwrap());
        assert!(matches!(
            user.decide(&register(id)),
            Err(DomainError::AlreadyExists { .. })
        ));
    }

    fn registered(id: u128) -> User {
        User::from_history(
            &User::default()
                .decide(&register(Uuid::from_u128(id)))
                .unwrap(),
        )
    }

    fn staff(id: u128, role: Role) -> Actor {
        Actor {
            roles: BTreeSet::from([role]),
            ..Actor::member(Uuid::from_u128(id))
        }
    }

    #[test]
    fn only_administrators_grant_roles_and_granting_twice_changes_nothing() {
        let user = registered(1);
        let grant = |actor| UserCommand::GrantRole {
            actor,
            role: Role::Moderator,
            at: DateTime::UNIX_EPOCH,
        };
        assert!(matches!(
            user.decide(&grant(staff(2, Role::Moderator))),
            Err(DomainError::Forbidden(_))
        ));
        let events = user.decide(&grant(Actor::operator())).unwrap();
        assert!(matches!(&events[..], [UserEvent::RoleGranted(e)] if e.granted_by.is_none()));
        let moderator = events.iter().fold(user.clone(), |u, e| u.evolve(e));
        assert_eq!(moderator.decide(&grant(staff(2, Role::Admin))), Ok(vec![]));
    }

    #[test]
    fn moderators_suspend_members_but_only_administrators_suspend_staff() {
        let suspend = |actor| UserCommand::Suspend {
            actor,
            reason: "spam".into(),
            at: DateTime::UNIX_EPOCH,
        };
        let member = registered(1);
        assert_eq!(
            member
                .decide(&suspend(staff(2, Role::Moderator)))
                .unwrap()
                .len(),
            1
        );
        let mut colleague = registered(3);
        colleague.roles.insert(Role::Moderator);
        assert!(
            colleague
                .decide(&suspend(staff(2, Role::Moderator)))
                .is_err()
        );
        assert_eq!(
            colleague
                .decide(&suspend(staff(4, Role::Admin)))
                .unwrap()
                .len(),
            1
        );
        assert!(
            member
                .decide(&suspend(Actor::member(Uuid::from_u128(5))))
                .is_err()
        );
    }

    #[test]
    fn a_deleted_account_takes_no_more_commands() {
        let id = Uuid::from_u128(1);
        let owner = Actor::member(id);
        let user = registered(1);
        let events = user
            .decide(&UserCommand::Delete {
                actor: owner.clone(),
                at: DateTime::UNIX_EPOCH,
            })
            .unwrap();
        let deleted = events.iter().fold(user, |u, e| u.evolve(e));
        let follow = UserCommand::FollowTag {
            actor: owner,
            tag: Tag::parse("rust").unwrap(),
            at: DateTime::UNIX_EPOCH,
        };
        assert_eq!(deleted.decide(&follow), Err(DomainError::NotFound("user")));
        assert!(deleted.password_hash.is_empty());
    }

    #[test]
    fn follows_stop_at_the_cap_and_unfollowing_makes_room() {
        let id = Uuid::from_u128(1);
        let owner = Actor::member(id);
        let mut user = registered(1);
        user.followed_users = (0..MAX_FOLLOWS as u128 - 1)
            .map(|n| Uuid::from_u128(1_000 + n))
            .collect();
        let follow = |tag: &str| UserCommand::FollowTag {
            actor: owner.clone(),
            tag: Tag::parse(tag).unwrap(),
            at: DateTime::UNIX_EPOCH,
        };
        let events = user.decide(&follow("rust")).unwrap();
        let user = events.iter().fold(user, |u, e| u.evolve(e));
        assert!(matches!(
            user.decide(&follow("go")),
            Err(DomainError::Conflict(_))
        ));
        // Following again what one follows is still no change, not a refusal.
        assert_eq!(user.decide(&follow("rust")), Ok(vec![]));
        let unfollow = UserCommand::UnfollowUser {
            actor: owner.clone(),
            followee_id: Uuid::from_u128(1_000),
            at: DateTime::UNIX_EPOCH,
        };
        let events = user.decide(&unfollow).unwrap();
        let user = events.iter().fold(user, |u, e| u.evolve(e));
        assert_eq!(user.decide(&follow("go")).map(|e| e.len()), Ok(1));
    }

    #[test]
    fn registration_reports_every_bad_field() {
        let errors = Registration {
            username: "a!",
            email: "not-an-email",
            password: &crate::Secret::new("short"),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["username", "email", "password"]);
    }

    #[test]
    fn email_rules() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in [
            "", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.de", "a@.b", "a@b.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
