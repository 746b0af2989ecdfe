//! Projection "users": credentials for login; standing (roles, suspension)
//! and sessions for every access check; public profiles; follows; hidden
//! tags.

use super::{RunStatement, Statement};
use resourcify_domain::DomainEvent;
use resourcify_domain::session::SessionEvent;
use resourcify_domain::tag_filter::TagFilterEvent;
use resourcify_domain::user::UserEvent;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Registered,
    Profile,
    Password,
    TagFollowed,
    TagUnfollowed,
    UserFollowed,
    UserUnfollowed,
    RoleGranted,
    RoleRevoked,
    Suspended,
    Reinstated,
    Deleted,
    SessionsRevoked,
    SessionStarted,
    SessionRefreshed,
    SessionEnded,
    TagHidden,
    TagUnhidden,
}

pub(super) fn change_of(event: &DomainEvent) -> Option<Change> {
    Some(match event {
        DomainEvent::User(e) => match e {
            UserEvent::Registered(_) => Change::Registered,
            UserEvent::ProfileUpdated(_) => Change::Profile,
            UserEvent::PasswordChanged(_) => Change::Password,
            UserEvent::TagFollowed(_) => Change::TagFollowed,
            UserEvent::TagUnfollowed(_) => Change::TagUnfollowed,
            UserEvent::UserFollowed(_) => Change::UserFollowed,
            UserEvent::UserUnfollowed(_) => Change::UserUnfollowed,
            UserEvent::RoleGranted(_) => Change::RoleGranted,
            UserEvent::RoleRevoked(_) => Change::RoleRevoked,
            UserEvent::Suspended(_) => Change::Suspended,
            UserEvent::Reinstated(_) => Change::Reinstated,
            UserEvent::Deleted(_) => Change::Deleted,
            UserEvent::SessionsRevoked(_) => Change::SessionsRevoked,
            // The inbox's, not this projection's.
            UserEvent::NotificationsRead(_) => return None,
        },
        DomainEvent::Session(e) => match e {
            SessionEvent::Started(_) => Change::SessionStarted,
            SessionEvent::Refreshed(_) => Change::SessionRefreshed,
            SessionEvent::Ended(_) => Change::SessionEnded,
        },
        DomainEvent::TagFilter(e) => match e {
            TagFilterEvent::Hidden(_) => Change::TagHidden,
            TagFilterEvent::Unhidden(_) => Change::TagUnhidden,
        },
        _ => return None,
    })
}

/// The notice's keys are user ids.
pub(super) const KEY: &str = "user_id";

impl RunStatement for Change {
    fn statement(self, rows: Value) -> Statement {
        match self {
            Change::Registered => sqlx::query!(
                "WITH b AS (
                     SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                         user_id uuid, username text, email text, password_hash text,
                         registered_at timestamptz)
                 ), credentials AS (
                     INSERT INTO user_credentials (user_id, username, email, password_hash, registered_at)
                     SELECT user_id, username, email, password_hash, registered_at FROM b
                     ON CONFLICT (user_id) DO NOTHING
                 ), access AS (
                     INSERT INTO user_access (user_id, username)
                     SELECT user_id, username FROM b
                     ON CONFLICT (user_id) DO NOTHING
                 )
                 INSERT INTO user_profiles (user_id, username, registered_at)
                 SELECT user_id, username, registered_at FROM b
                 ON CONFLICT (user_id) DO NOTHING",
                rows
            ),
            Change::Profile => sqlx::query!(
                "UPDATE user_profiles p
                 SET display_name = b.display_name, bio = b.bio, website = b.website
                 FROM (SELECT DISTINCT ON (user_id) * FROM jsonb_to_recordset($1::jsonb) AS b(
                           user_id uuid, display_name text, bio text, website text, ord bigint)
                       ORDER BY user_id, ord DESC) b
                 WHERE p.user_id = b.user_id",
                rows
            ),
            Change::Password => sqlx::query!(
                "WITH b AS (
                     SELECT DISTINCT ON (user_id) * FROM jsonb_to_recordset($1::jsonb) AS b(
                         user_id uuid, password_hash text, at timestamptz, ord bigint)
                     ORDER BY user_id, ord DESC
                 ), credentials AS (
                     UPDATE user_credentials c SET password_hash = b.password_hash
                     FROM b WHERE c.user_id = b.user_id
                 )
                 UPDATE sessions s SET ended_at = b.at
                 FROM b
                 WHERE s.user_id = b.user_id AND s.ended_at IS NULL AND s.started_at <= b.at",
                rows
            ),
            Change::TagFollowed => sqlx::query!(
                "INSERT INTO followed_tags (user_id, tag)
                 SELECT user_id, tag FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, tag text)
                 ON CONFLICT DO NOTHING",
                rows
            ),
            Change::TagUnfollowed => sqlx::query!(
                "DELETE FROM followed_tags f
                 USING jsonb_to_recordset($1::jsonb) AS b(user_id uuid, tag text)
                 WHERE f.user_id = b.user_id AND f.tag = b.tag",
                rows
            ),
            Change::TagHidden => sqlx::query!(
                "INSERT INTO hidden_tags (user_id, tag)
                 SELECT user_id, tag FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, tag text)
                 ON CONFLICT DO NOTHING",
                rows
            ),
            Change::TagUnhidden => sqlx::query!(
                "DELETE FROM hidden_tags h
                 USING jsonb_to_recordset($1::jsonb) AS b(user_id uuid, tag text)
                 WHERE h.user_id = b.user_id AND h.tag = b.tag",
                rows
            ),
            Change::UserFollowed => sqlx::query!(
                "INSERT INTO followed_users (user_id, followee_id)
                 SELECT user_id, followee_id
                 FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, followee_id uuid)
                 ON CONFLICT DO NOTHING",
                rows
            ),
            Change::UserUnfollowed => sqlx::query!(
                "DELETE FROM followed_users f
                 USING jsonb_to_recordset($1::jsonb) AS b(user_id uuid, followee_id uuid)
                 WHERE f.user_id = b.user_id AND f.followee_id = b.followee_id",
                rows
            ),
            Change::RoleGranted => sqlx::query!(
                "UPDATE user_access a
                 SET roles = ARRAY(SELECT DISTINCT r FROM unnest(a.roles || b.roles) r ORDER BY r)
                 FROM (SELECT user_id, array_agg(role) AS roles
                       FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, role text)
                       GROUP BY user_id) b
                 WHERE a.user_id = b.user_id",
                rows
            ),
            Change::RoleRevoked => sqlx::query!(
                "UPDATE user_access a
                 SET roles = ARRAY(SELECT r FROM unnest(a.roles) r WHERE r <> ALL (b.roles) ORDER BY r)
                 FROM (SELECT user_id, array_agg(role) AS roles
                       FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, role text)
                       GROUP BY user_id) b
                 WHERE a.user_id = b.user_id",
                rows
            ),
            Change::Suspended => sqlx::query!(
                "UPDATE user_access a SET suspended = true
                 FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                 WHERE a.user_id = b.user_id",
                rows
            ),
            Change::Reinstated => sqlx::query!(
                "UPDATE user_access a SET suspended = false
                 FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                 WHERE a.user_id = b.user_id",
                rows
            ),
            // Personal data leaves every table of this projection; the
            // user's sessions end and lose the user agents they were
            // started from.
            Change::Deleted => sqlx::query!(
                "WITH b AS (
                     SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, at timestamptz)
                 ), credentials AS (
                     DELETE FROM user_credentials c USING b WHERE c.user_id = b.user_id
                 ), access AS (
                     DELETE FROM user_access a USING b WHERE a.user_id = b.user_id
                 ), profiles AS (
                     DELETE FROM user_profiles p USING b WHERE p.user_id = b.user_id
                 ), tags AS (
                     DELETE FROM followed_tags f USING b WHERE f.user_id = b.user_id
                 ), follows AS (
                     DELETE FROM followed_users f USING b WHERE f.user_id = b.user_id
                 ), followers AS (
                     DELETE FROM followed_users f USING b WHERE f.followee_id = b.user_id
                 ), hidden AS (
                     DELETE FROM hidden_tags h USING b WHERE h.user_id = b.user_id
                 )
                 UPDATE sessions s SET ended_at = coalesce(s.ended_at, b.at), user_agent = ''
                 FROM b WHERE s.user_id = b.user_id",
                rows
            ),
            Change::SessionsRevoked => sqlx::query!(
                "UPDATE sessions s SET ended_at = b.at
                 FROM (SELECT DISTINCT ON (user_id) * FROM jsonb_to_recordset($1::jsonb) AS b(
                           user_id uuid, at timestamptz, ord bigint)
                       ORDER BY user_id, ord DESC) b
                 WHERE s.user_id = b.user_id AND s.ended_at IS NULL AND s.started_at <= b.at",
                rows
            ),
            Change::SessionStarted => sqlx::query!(
                "INSERT INTO sessions (session_id, user_id, started_at, expires_at, user_agent)
                 SELECT session_id, user_id, at, expires_at, user_agent
                 FROM jsonb_to_recordset($1::jsonb) AS b(
                     session_id uuid, user_id uuid, at timestamptz, expires_at timestamptz,
                     user_agent text)
                 ON CONFLICT (session_id) DO NOTHING",
                rows
            ),
            Change::SessionRefreshed => sqlx::query!(
                "UPDATE sessions s SET expires_at = b.expires_at, last_used_at = b.at
                 FROM (SELECT DISTINCT ON (session_id) * FROM jsonb_to_recordset($1::jsonb) AS b(
                           session_id uuid, expires_at timestamptz, at timestamptz, ord bigint)
                       ORDER BY session_id, ord DESC) b
                 WHERE s.session_id = b.session_id",
                rows
            ),
            Change::SessionEnded => sqlx::query!(
                "UPDATE sessions s SET ended_at = b.at
                 FROM jsonb_to_recordset($1::jsonb) AS b(session_id uuid, at timestamptz)
                 WHERE s.session_id = b.session_id AND s.ended_at IS NULL",
                rows
            ),
        }
    }
}
