//! Rows returned by the named read queries.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A resource as the resources projection shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub id: Uuid,
    /// Stream position of the submission; the keyset key of every newest-first list.
    pub listed_at: i64,
    pub title: String,
    pub url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: String,
    pub author_id: Uuid,
    /// `None` once the author deleted their account.
    pub author_username: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub votes: i32,
    pub hidden: bool,
    pub retracted: bool,
}

impl ResourceRow {
    /// Whether everyone may see the resource.
    pub fn is_public(&self) -> bool {
        !self.hidden && !self.retracted
    }
}

/// What an access check needs about a session and its user.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionAccess {
    pub user_id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub suspended: bool,
    pub expires_at: DateTime<Utc>,
    pub ended: bool,
}

/// What login checks a password against.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub user_id: Uuid,
    pub username: String,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}
