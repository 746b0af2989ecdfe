//! Who is asking: the identity and standing every authorised command carries.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

/// What a user may do beyond a member's rights. Every user is a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Moderator,
    Admin,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Member, Self::Moderator, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        crate::validation::one_of(&Self::ALL, Self::as_str, raw)
    }
}

/// The caller of a command, as the access check found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    /// Roles beyond member.
    pub roles: BTreeSet<Role>,
    pub suspended: bool,
}

impl Actor {
    /// A member in good standing.
    pub fn member(user_id: Uuid) -> Self {
        Self {
            user_id,
            roles: BTreeSet::new(),
            suspended: false,
        }
    }

    /// The operator at the command line (`resourcify admin grant`): an
    /// administrator who is no user.
    pub fn operator() -> Self {
        Self {
            user_id: Uuid::nil(),
            roles: BTreeSet::from([Role::Admin]),
            suspended: false,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.user_id.is_nil()
    }

    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// Moderation is open to moderators and administrators.
    pub fn is_moderator(&self) -> bool {
        self.is_admin() || self.roles.contains(&Role::Moderator)
    }

    /// Every command starts here: a suspended user can change nothing.
    pub fn ensure_active(&self) -> Result<(), DomainError> {
        if self.suspended {
            Err(DomainError::Forbidden("this account is suspended"))
        } else {
            Ok(())
        }
    }

    pub fn ensure_moderator(&self) -> Result<(), DomainError> {
        self.ensure_active()?;
        if self.is_moderator() {
            Ok(())
        } else {
            Err(DomainError::Forbidden("only moderators may do this"))
        }
    }

    pub fn ensure_admin(&self) -> Result<(), DomainError> {
        self.ensure_active()?;
        if self.is_admin() {
            Ok(())
        } else {
            Err(DomainError::Forbidden("only administrators may do this"))
        }
    }

    /// The actor's `by` in an event: `None` for the operator.
    pub fn recorded_id(&self) -> Option<Uuid> {
        (!self.is_operator()).then_some(self.user_id)
    }
}
