//! What happens to a user, in the past tense: the user aggregate's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Role;
use crate::event::event_set;

/// A new account exists. Username and e-mail were reserved before this was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub username: String,
    pub email: String,
    /// An argon2id PHC string; the plain password never reaches an event.
    pub password_hash: String,
    pub registered_at: DateTime<Utc>,
}

/// The public profile now reads as given (every field, changed or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileUpdated {
    pub user_id: Uuid,
    pub display_name: String,
    pub bio: String,
    pub website: String,
    pub at: DateTime<Utc>,
}

/// The password changed; every session started before `at` has ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub user_id: Uuid,
    pub password_hash: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagFollowed {
    pub user_id: Uuid,
    pub tag: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagUnfollowed {
    pub user_id: Uuid,
    pub tag: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFollowed {
    pub user_id: Uuid,
    pub followee_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserUnfollowed {
    pub user_id: Uuid,
    pub followee_id: Uuid,
    pub at: DateTime<Utc>,
}

/// `granted_by` is absent when the operator granted it from the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleGranted {
    pub user_id: Uuid,
    pub role: Role,
    pub granted_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRevoked {
    pub user_id: Uuid,
    pub role: Role,
    pub revoked_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The user may still read and log in, but not change anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSuspended {
    pub user_id: Uuid,
    pub reason: String,
    pub suspended_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserReinstated {
    pub user_id: Uuid,
    pub reinstated_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The account is gone: its personal data leaves every view and its
/// sessions end. Its resources and comments stay, shown as a deleted user's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDeleted {
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

/// "Log out everywhere": every session started before `at` has ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsRevoked {
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The member has read their notifications: every one at or before the
/// stream position `up_to` reads as read from now on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationsRead {
    pub user_id: Uuid,
    pub up_to: u64,
    pub at: DateTime<Utc>,
}

/// Events of the user aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum UserEvent {
    Registered(UserRegistered),
    ProfileUpdated(ProfileUpdated),
    PasswordChanged(PasswordChanged),
    TagFollowed(TagFollowed),
    TagUnfollowed(TagUnfollowed),
    UserFollowed(UserFollowed),
    UserUnfollowed(UserUnfollowed),
    RoleGranted(RoleGranted),
    RoleRevoked(RoleRevoked),
    Suspended(UserSuspended),
    Reinstated(UserReinstated),
    Deleted(UserDeleted),
    SessionsRevoked(SessionsRevoked),
    NotificationsRead(NotificationsRead),
}

event_set!(UserEvent {
    Registered => USER_REGISTERED,
    ProfileUpdated => USER_PROFILE_UPDATED,
    PasswordChanged => USER_PASSWORD_CHANGED,
    TagFollowed => USER_TAG_FOLLOWED,
    TagUnfollowed => USER_TAG_UNFOLLOWED,
    UserFollowed => USER_USER_FOLLOWED,
    UserUnfollowed => USER_USER_UNFOLLOWED,
    RoleGranted => USER_ROLE_GRANTED,
    RoleRevoked => USER_ROLE_REVOKED,
    Suspended => USER_SUSPENDED,
    Reinstated => USER_REINSTATED,
    Deleted => USER_DELETED,
    SessionsRevoked => USER_SESSIONS_REVOKED,
    NotificationsRead => USER_NOTIFICATIONS_READ,
});
