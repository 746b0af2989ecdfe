//! Accounts and sessions on the wire: registration, log-in, tokens, profiles.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use super::SecretText;
use super::shared::{EXAMPLE_USER, example_time};

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct NewUser {
    /// 3 to 32 characters from `[a-z0-9_]` (stored lower-case).
    #[oai(validator(min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9_]+$"))]
    pub username: String,
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: SecretText,
}

impl Example for NewUser {
    fn example() -> Self {
        Self {
            username: "ada".into(),
            email: "ada@example.org".into(),
            password: "correct horse battery".into(),
        }
    }
}

/// The new account. Log in with `POST /v1/sessions`, passing `position`
/// as `X-Resourcify-Min-Position`.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct RegisteredUser {
    pub user_id: Uuid,
    pub username: String,
    /// Stream position of the registration; send as `X-Resourcify-Min-Position`.
    pub position: u64,
}

impl Example for RegisteredUser {
    fn example() -> Self {
        Self {
            user_id: EXAMPLE_USER,
            username: "ada".into(),
            position: 41,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct LoginRequest {
    /// Username or e-mail address.
    #[oai(validator(min_length = 1, max_length = 254))]
    pub login: String,
    #[oai(validator(max_length = 128))]
    pub password: SecretText,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            login: "ada".into(),
            password: "correct horse battery".into(),
        }
    }
}

/// A session's tokens.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct SessionTokens {
    pub session_id: Uuid,
    /// Send as `Authorization: Bearer …`.
    pub access_token: SecretText,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Trade it for new tokens at `POST /v1/sessions/refresh`. It works
    /// once: presenting it a second time ends the session.
    pub refresh_token: SecretText,
    /// When the session ends unless refreshed before.
    pub refresh_expires_at: DateTime<Utc>,
    /// Stream position of the session's event.
    pub position: u64,
}

impl Example for SessionTokens {
    fn example() -> Self {
        Self {
            session_id: Uuid::from_u128(0x0193_a5c4_7f00_7000_8000_0000_0000_5e55),
            access_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTkzYTVjNCJ9.c2lnbmF0dXJl".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: "rt_3q2-7wEAAAB0ZXN0LXJlZnJlc2gtdG9rZW4".into(),
            refresh_expires_at: example_time() + chrono::TimeDelta::days(30),
            position: 42,
        }
    }
}

impl From<resourcify_app::SessionTokens> for SessionTokens {
    fn from(tokens: resourcify_app::SessionTokens) -> Self {
        Self {
            session_id: tokens.session_id,
            access_token: tokens.access.token.into(),
            token_type: "Bearer".into(),
            expires_in: tokens.access.expires_in.as_secs(),
            refresh_token: tokens.refresh_token.into(),
            refresh_expires_at: tokens.refresh_expires_at,
            position: tokens.position,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 512))]
    pub refresh_token: SecretText,
}

impl Example for RefreshRequest {
    fn example() -> Self {
        Self {
            refresh_token: "rt_3q2-7wEAAAB0ZXN0LXJlZnJlc2gtdG9rZW4".into(),
        }
    }
}

/// A profile change; absent fields stay as they are, empty strings clear.
/// Any other field (a role, say) is refused: no one changes their own
/// standing here.
#[derive(Debug, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
pub struct ProfilePatch {
    /// Up to 50 characters.
    #[oai(validator(max_length = 50))]
    pub display_name: Option<String>,
    /// Up to 500 characters.
    #[oai(validator(max_length = 500))]
    pub bio: Option<String>,
    /// An http(s) URL, or empty.
    pub website: Option<String>,
}

impl Example for ProfilePatch {
    fn example() -> Self {
        Self {
            display_name: Some("Ada Lovelace".into()),
            bio: Some("Notes on the Analytical Engine.".into()),
            website: None,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct PasswordChange {
    #[oai(validator(max_length = 128))]
    pub current_password: SecretText,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: SecretText,
}

impl Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: "correct horse battery".into(),
            new_password: "battery staple horse correct".into(),
        }
    }
}

/// A staff role; every user is also a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum StaffRole {
    Moderator,
    Admin,
}

impl StaffRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }

    pub(crate) fn parse(role: &str) -> Option<Self> {
        [Self::Moderator, Self::Admin]
            .into_iter()
            .find(|r| r.as_str() == role)
    }
}

/// A public profile.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Profile {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub website: String,
    pub registered_at: DateTime<Utc>,
    /// Upvotes on the member's resources, plus upvotes less downvotes on
    /// their comments. A withdrawn vote no longer counts; a vote on
    /// something since deleted, retracted, hidden or removed still does.
    pub karma: i64,
}

impl From<resourcify_app::ProfileRow> for Profile {
    fn from(row: resourcify_app::ProfileRow) -> Self {
        Self {
            user_id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            bio: row.bio,
            website: row.website,
            registered_at: row.registered_at,
            karma: row.karma,
        }
    }
}

/// A user one follows.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FollowedUser {
    pub user_id: Uuid,
    pub username: String,
}

/// One's own account.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Account {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub website: String,
    pub registered_at: DateTime<Utc>,
    /// Staff roles; every user is a member.
    pub roles: Vec<StaffRole>,
    /// A suspended user can read but change nothing.
    pub suspended: bool,
    /// As on the public profile.
    pub karma: i64,
    pub followed_tags: Vec<String>,
    pub followed_users: Vec<FollowedUser>,
    /// Tags left out of one's front page, lists and feed
    /// (`PUT /v1/me/hidden-tags/{tag}`).
    pub hidden_tags: Vec<String>,
}

impl From<resourcify_app::Account> for Account {
    fn from(account: resourcify_app::Account) -> Self {
        let row = account.account;
        Self {
            user_id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            bio: row.bio,
            website: row.website,
            registered_at: row.registered_at,
            roles: row
                .roles
                .iter()
                .filter_map(|r| StaffRole::parse(r))
                .collect(),
            suspended: row.suspended,
            karma: row.karma,
            followed_tags: account.followed_tags,
            followed_users: account
                .followed_users
                .into_iter()
                .map(|u| FollowedUser {
                    user_id: u.user_id,
                    username: u.username,
                })
                .collect(),
            hidden_tags: account.hidden_tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::Example;

    use super::*;

    #[test]
    fn bodies_with_secrets_never_show_them() {
        let shown = [
            format!("{:?}", NewUser::example()),
            format!("{:?}", LoginRequest::example()),
            format!("{:?}", PasswordChange::example()),
            format!("{:?}", RefreshRequest::example()),
            format!("{:?}", SessionTokens::example()),
        ];
        let secrets = [
            NewUser::example().password,
            PasswordChange::example().new_password,
            RefreshRequest::example().refresh_token,
            SessionTokens::example().access_token,
        ];
        for text in &shown {
            assert!(text.contains("[redacted]"), "{text}");
            for secret in &secrets {
                assert!(!text.contains(secret.secret().expose()), "{text}");
            }
        }
        assert!(shown[0].contains("ada@example.org"), "{}", shown[0]);
    }
}
