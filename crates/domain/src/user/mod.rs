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
    EMAIL_MAX_CHARS, EMAIL_PATTERN, Email, Profile, ProfileChange, Registration, Username,
    ValidProfileChange, ValidRegistration, check_password,
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
    /// Everything in one's inbox up to the position `up_to` is read.
    MarkNotificationsRead {
        actor: Actor,
        up_to: u64,
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
    /// The position up to which the inbox reads as read.
    pub notifications_read_up_to: u64,
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
            // Open to a suspended member too: it changes only their own
            // inbox. Marking read what already reads as read records nothing.
            C::MarkNotificationsRead { actor, up_to, at } => {
                let user_id = self.owned_by(actor)?;
                if *up_to <= self.notifications_read_up_to {
                    return Ok(vec![]);
                }
                UserEvent::NotificationsRead(NotificationsRead {
                    user_id,
                    up_to: *up_to,
                    at: *at,
                })
            }
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
            UserEvent::NotificationsRead(e) => self.notifications_read_up_to = e.up_to,
        }
        self
    }
}

#[cfg(test)]
mod tests;
