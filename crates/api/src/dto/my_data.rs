//! One's own data on the wire: the export, and one's sessions.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::Example;
use uuid::Uuid;

use super::accounts::{FollowedUser, StaffRole};
use super::comments::VoteDirection;
use super::resources::Resource;
use super::shared::{EXAMPLE_RESOURCE, EXAMPLE_USER, example_time};

const EXAMPLE_SESSION: Uuid = Uuid::from_u128(0x0193_a5c4_9000_7000_9000_0000_0000_b001);
const EXAMPLE_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// A session of one's own.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Session {
    pub id: Uuid,
    /// When the login started it.
    pub started_at: DateTime<Utc>,
    /// When its refresh token was last used; its start if never.
    pub last_used_at: DateTime<Utc>,
    /// When its refresh token stops working unless used first.
    pub expires_at: DateTime<Utc>,
    /// When it was ended (logout, password change, reuse of a refresh
    /// token); absent while it holds.
    pub ended_at: Option<DateTime<Utc>>,
    /// The `User-Agent` the login sent (at most 256 characters); empty if
    /// none, or for sessions started before user agents were kept.
    pub user_agent: String,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

impl Session {
    pub(crate) fn from_row(row: resourcify_app::SessionRow, current: Uuid) -> Self {
        Self {
            id: row.session_id,
            started_at: row.started_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            ended_at: row.ended_at,
            user_agent: row.user_agent,
            current: row.session_id == current,
        }
    }
}

impl Example for Session {
    fn example() -> Self {
        Self {
            id: EXAMPLE_SESSION,
            started_at: example_time(),
            last_used_at: example_time(),
            expires_at: example_time() + chrono::TimeDelta::days(30),
            ended_at: None,
            user_agent: EXAMPLE_AGENT.into(),
            current: true,
        }
    }
}

/// One's sessions that still hold, newest first.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct SessionList {
    pub items: Vec<Session>,
}

impl Example for SessionList {
    fn example() -> Self {
        Self {
            items: vec![Session::example()],
        }
    }
}

/// One's profile as the platform holds it, e-mail address included.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ExportedProfile {
    pub user_id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub bio: String,
    pub website: String,
    pub registered_at: DateTime<Utc>,
    /// Staff roles; every user is a member.
    pub roles: Vec<StaffRole>,
    pub suspended: bool,
}

/// A resource of one's own, whatever became of it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ExportedResource {
    #[oai(flatten)]
    pub resource: Resource,
    /// Hidden by a moderator.
    pub hidden: bool,
    /// Retracted by oneself.
    pub retracted: bool,
}

/// A comment of one's own.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ExportedComment {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub parent_id: Option<Uuid>,
    /// Empty once the comment is gone.
    pub body: String,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted by oneself or removed by a moderator.
    pub gone: bool,
}

/// An upvote of one's own.
#[derive(Debug, Object)]
pub struct ExportedVote {
    pub resource_id: Uuid,
    pub voted_at: DateTime<Utc>,
}

/// A vote of one's own on a comment.
#[derive(Debug, Object)]
pub struct ExportedCommentVote {
    pub comment_id: Uuid,
    pub direction: VoteDirection,
    pub voted_at: DateTime<Utc>,
}

/// A flag of one's own, still open.
#[derive(Debug, Object)]
pub struct ExportedFlag {
    /// `resource` or `comment`.
    pub target_kind: String,
    pub target_id: Uuid,
    /// `spam`, `off-topic`, `broken-link`, `duplicate` or `other`.
    pub reason: String,
    pub flagged_at: DateTime<Utc>,
}

/// A bookmark of one's own.
#[derive(Debug, Object)]
pub struct ExportedBookmark {
    pub resource_id: Uuid,
    pub bookmarked_at: DateTime<Utc>,
}

/// What one follows.
#[derive(Debug, Object)]
pub struct ExportedFollows {
    pub tags: Vec<String>,
    pub users: Vec<FollowedUser>,
}

/// Everything the platform holds about the caller.
#[derive(Debug, Object)]
#[oai(example)]
pub struct MyDataExport {
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// The most items of each list below (newest first); follows are
    /// capped lower, at 1,000 of each.
    pub limit_per_list: u32,
    /// The lists that had more items than `limit_per_list` and hold their
    /// newest only (`resources`, `comments`, `votes`, `comment_votes`,
    /// `flags`, `bookmarks`, `sessions`).
    pub truncated: Vec<String>,
    pub profile: ExportedProfile,
    pub follows: ExportedFollows,
    /// The tags one hides from one's lists.
    pub hidden_tags: Vec<String>,
    /// What one submitted, hidden and retracted resources included.
    pub resources: Vec<ExportedResource>,
    /// What one wrote, deleted and removed comments included (without their text).
    pub comments: Vec<ExportedComment>,
    pub votes: Vec<ExportedVote>,
    pub comment_votes: Vec<ExportedCommentVote>,
    /// One's open flags (withdrawn and dismissed ones are not kept).
    pub flags: Vec<ExportedFlag>,
    pub bookmarks: Vec<ExportedBookmark>,
    /// Every session, ended ones included.
    pub sessions: Vec<Session>,
}

impl MyDataExport {
    /// `current`: the session of the token that asked.
    pub(crate) fn new(data: resourcify_app::MemberData, current: Uuid) -> Self {
        let account = data.account;
        Self {
            exported_at: Utc::now(),
            limit_per_list: resourcify_app::EXPORT_LIMIT_PER_KIND as u32,
            truncated: data.truncated.iter().map(|&k| k.to_owned()).collect(),
            profile: ExportedProfile {
                user_id: account.user_id,
                username: account.username,
                email: data.email,
                display_name: account.display_name,
                bio: account.bio,
                website: account.website,
                registered_at: account.registered_at,
                roles: account
                    .roles
                    .iter()
                    .filter_map(|r| StaffRole::parse(r))
                    .collect(),
                suspended: account.suspended,
            },
            follows: ExportedFollows {
                tags: data.followed_tags,
                users: data
                    .followed_users
                    .into_iter()
                    .map(|u| FollowedUser {
                        user_id: u.user_id,
                        username: u.username,
                    })
                    .collect(),
            },
            hidden_tags: data.hidden_tags,
            resources: data
                .resources
                .into_iter()
                .map(|row| ExportedResource {
                    hidden: row.hidden,
                    retracted: row.retracted,
                    resource: row.into(),
                })
                .collect(),
            comments: data
                .comments
                .into_iter()
                .map(|c| ExportedComment {
                    id: c.id,
                    resource_id: c.resource_id,
                    parent_id: c.parent_id,
                    body: c.body,
                    posted_at: c.posted_at,
                    edited_at: c.edited_at,
                    gone: c.gone,
                })
                .collect(),
            votes: data
                .votes
                .into_iter()
                .map(|v| ExportedVote {
                    resource_id: v.resource_id,
                    voted_at: v.voted_at,
                })
                .collect(),
            comment_votes: data
                .comment_votes
                .into_iter()
                .map(|v| ExportedCommentVote {
                    comment_id: v.comment_id,
                    direction: if v.up {
                        VoteDirection::Up
                    } else {
                        VoteDirection::Down
                    },
                    voted_at: v.voted_at,
                })
                .collect(),
            flags: data
                .flags
                .into_iter()
                .map(|f| ExportedFlag {
                    target_kind: f.target_kind,
                    target_id: f.target_id,
                    reason: f.reason,
                    flagged_at: f.at,
                })
                .collect(),
            bookmarks: data
                .bookmarks
                .into_iter()
                .map(|b| ExportedBookmark {
                    resource_id: b.resource_id,
                    bookmarked_at: b.bookmarked_at,
                })
                .collect(),
            sessions: data
                .sessions
                .into_iter()
                .map(|row| Session::from_row(row, current))
                .collect(),
        }
    }
}

impl Example for MyDataExport {
    fn example() -> Self {
        Self {
            exported_at: example_time(),
            limit_per_list: resourcify_app::EXPORT_LIMIT_PER_KIND as u32,
            truncated: Vec::new(),
            profile: ExportedProfile {
                user_id: EXAMPLE_USER,
                username: "ada".into(),
                email: "ada@example.org".into(),
                display_name: "Ada".into(),
                bio: "Notes on engines.".into(),
                website: "https://ada.example.org".into(),
                registered_at: example_time(),
                roles: Vec::new(),
                suspended: false,
            },
            follows: ExportedFollows {
                tags: vec!["rust".into()],
                users: Vec::new(),
            },
            hidden_tags: vec!["crypto".into()],
            resources: vec![ExportedResource {
                resource: Resource::example(),
                hidden: false,
                retracted: false,
            }],
            comments: Vec::new(),
            votes: Vec::new(),
            comment_votes: Vec::new(),
            flags: Vec::new(),
            bookmarks: vec![ExportedBookmark {
                resource_id: EXAMPLE_RESOURCE,
                bookmarked_at: example_time(),
            }],
            sessions: vec![Session::example()],
        }
    }
}
