//! Request and response bodies, as the OpenAPI document describes them.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_app::{ResourcePage, ResourceRow};
use uuid::Uuid;

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
    pub password: String,
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

/// The ids the examples share, so that they read as one story.
const EXAMPLE_USER: Uuid = Uuid::from_u128(0x0193_a5c4_7e1f_7a2b_8c3d_4e5f_6a7b_8c9d);
const EXAMPLE_RESOURCE: Uuid = Uuid::from_u128(0x0193_a5c4_8000_7000_9000_0000_0000_a001);

fn example_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_770_000, 0).unwrap_or_default()
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct LoginRequest {
    /// Username or e-mail address.
    #[oai(validator(min_length = 1, max_length = 254))]
    pub login: String,
    #[oai(validator(max_length = 128))]
    pub password: String,
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
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Trade it for new tokens at `POST /v1/sessions/refresh`. It works
    /// once: presenting it a second time ends the session.
    pub refresh_token: String,
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
            access_token: tokens.access.token,
            token_type: "Bearer".into(),
            expires_in: tokens.access.expires_in.as_secs(),
            refresh_token: tokens.refresh_token,
            refresh_expires_at: tokens.refresh_expires_at,
            position: tokens.position,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 512))]
    pub refresh_token: String,
}

impl Example for RefreshRequest {
    fn example() -> Self {
        Self {
            refresh_token: "rt_3q2-7wEAAAB0ZXN0LXJlZnJlc2gtdG9rZW4".into(),
        }
    }
}

/// What a command did.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CommandResult {
    /// The id of what the command acted on or created.
    pub id: Uuid,
    /// Stream position of the command's event (of the thing's last event if
    /// nothing needed to change); send as `X-Resourcify-Min-Position`.
    pub position: u64,
}

impl Example for CommandResult {
    fn example() -> Self {
        Self {
            id: EXAMPLE_RESOURCE,
            position: 57,
        }
    }
}

impl From<resourcify_app::CommandOutcome> for CommandResult {
    fn from(outcome: resourcify_app::CommandOutcome) -> Self {
        Self {
            id: outcome.id,
            position: outcome.position,
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
    #[oai(validator(max_length = 2048))]
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
    pub current_password: String,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

impl Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: "correct horse battery".into(),
            new_password: "battery staple horse correct".into(),
        }
    }
}

/// A reason for a moderation action, shown in the public moderation log.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ModerationReason {
    /// 3 to 500 characters.
    #[oai(validator(min_length = 3, max_length = 500))]
    pub reason: String,
}

impl Example for ModerationReason {
    fn example() -> Self {
        Self {
            reason: "Spam: the link leads to an unrelated shop.".into(),
        }
    }
}

/// A resource change; absent fields stay as they are. The URL, the author
/// and the counts cannot change here, and naming them is refused.
#[derive(Debug, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
pub struct ResourcePatch {
    /// 3 to 200 characters.
    #[oai(validator(min_length = 3, max_length = 200))]
    pub title: Option<String>,
    /// Up to 5,000 characters.
    #[oai(validator(max_length = 5000))]
    pub description: Option<String>,
    /// 1 to 5 tags.
    #[oai(validator(
        min_items = 1,
        max_items = 5,
        max_length = 32,
        pattern = r"^[A-Za-z0-9+#.-]+$"
    ))]
    pub tags: Option<Vec<String>>,
    pub kind: Option<ResourceKind>,
}

impl Example for ResourcePatch {
    fn example() -> Self {
        Self {
            title: Some("The Rust Programming Language (2024 edition)".into()),
            description: None,
            tags: None,
            kind: None,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct NewComment {
    /// 1 to 10,000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
    /// The comment this one replies to (on the same resource).
    pub parent_id: Option<Uuid>,
}

impl Example for NewComment {
    fn example() -> Self {
        Self {
            body: "Chapter 16 on concurrency is the best I have read.".into(),
            parent_id: None,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CommentPatch {
    /// 1 to 10,000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
}

impl Example for CommentPatch {
    fn example() -> Self {
        Self {
            body: "Chapter 16 on concurrency is the best I have read (edited).".into(),
        }
    }
}

/// What sort of thing a resource links to.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ResourceKind {
    Article,
    Video,
    Course,
    Book,
    Tool,
    Podcast,
    Other,
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct NewResource {
    /// 3 to 200 characters.
    #[oai(validator(min_length = 3, max_length = 200))]
    pub title: String,
    /// An absolute http(s) URL.
    #[oai(validator(max_length = 2048))]
    pub url: String,
    /// Up to 5,000 characters.
    #[oai(default)]
    #[oai(validator(max_length = 5000))]
    pub description: String,
    /// 1 to 5 tags: lower-case `[a-z0-9+#.-]`, up to 32 characters each.
    #[oai(validator(
        min_items = 1,
        max_items = 5,
        max_length = 32,
        pattern = r"^[A-Za-z0-9+#.-]+$"
    ))]
    pub tags: Vec<String>,
    pub kind: ResourceKind,
}

impl Example for NewResource {
    fn example() -> Self {
        Self {
            title: "The Rust Programming Language".into(),
            url: "https://doc.rust-lang.org/book/".into(),
            description: "The official book.".into(),
            tags: vec!["rust".into(), "books".into()],
            kind: ResourceKind::Book,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Author {
    pub user_id: Uuid,
    /// Absent once the author has deleted their account.
    pub username: Option<String>,
}

/// The news source a news item came from.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SourceRef {
    pub id: Uuid,
    /// Its title when the item was found.
    pub title: String,
}

/// A member's resource, or a news item (`source` set, no `author`).
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Resource {
    pub id: Uuid,
    pub title: String,
    pub url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: ResourceKind,
    /// Who submitted it; absent for a news item.
    pub author: Option<Author>,
    /// For a news item: the news source it was found in.
    pub source: Option<SourceRef>,
    /// For a news item, when its feed says it was published.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many changes the resource has had; 1 after submission.
    pub version: u32,
    /// Upvotes.
    pub votes: u32,
}

impl Example for Resource {
    fn example() -> Self {
        Self {
            id: EXAMPLE_RESOURCE,
            title: "The Rust Programming Language".into(),
            url: "https://doc.rust-lang.org/book/".into(),
            description: "The official book.".into(),
            tags: vec!["rust".into(), "books".into()],
            kind: ResourceKind::Book,
            author: Some(Author {
                user_id: EXAMPLE_USER,
                username: Some("ada".into()),
            }),
            source: None,
            created_at: example_time(),
            updated_at: example_time(),
            version: 1,
            votes: 12,
        }
    }
}

impl From<ResourceRow> for Resource {
    fn from(row: ResourceRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            url: row.url,
            description: row.description,
            tags: row.tags,
            kind: ResourceKind::parse(&row.kind),
            author: row.source_id.is_none().then_some(Author {
                user_id: row.author_id,
                username: row.author_username,
            }),
            source: row.source_id.map(|id| SourceRef {
                id,
                title: row.source_title.unwrap_or_default(),
            }),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version.max(0) as u32,
            votes: row.votes.max(0) as u32,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ResourceList {
    pub items: Vec<Resource>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl Example for ResourceList {
    fn example() -> Self {
        Self {
            items: vec![Resource::example()],
            next_cursor: Some("djI6YjoxMjM0NQ".into()),
        }
    }
}

impl From<ResourcePage> for ResourceList {
    fn from(page: ResourcePage) -> Self {
        Self {
            items: page.items.into_iter().map(Resource::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

impl From<&ResourcePage> for ResourceList {
    fn from(page: &ResourcePage) -> Self {
        Self {
            items: page.items.iter().cloned().map(Resource::from).collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// The larger of the header and query forms of the read-your-writes position.
pub(crate) fn min_position(header: Option<u64>, query: Option<u64>) -> Option<u64> {
    header.max(query)
}

/// The order of a list.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ListOrder {
    /// Newest first (the default).
    New,
    /// Most upvoted first.
    Top,
    /// Hottest first: votes decayed by age.
    Hot,
}

impl ListOrder {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Top => "top",
            Self::Hot => "hot",
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

    fn parse(role: &str) -> Option<Self> {
        [Self::Moderator, Self::Admin]
            .into_iter()
            .find(|r| r.as_str() == role)
    }
}

impl ResourceKind {
    /// A kind as the views store it; the views only hold the domain's kinds.
    fn parse(kind: &str) -> Self {
        [
            Self::Article,
            Self::Video,
            Self::Course,
            Self::Book,
            Self::Tool,
            Self::Podcast,
        ]
        .into_iter()
        .find(|k| k.as_str() == kind)
        .unwrap_or(Self::Other)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Article => "article",
            Self::Video => "video",
            Self::Course => "course",
            Self::Book => "book",
            Self::Tool => "tool",
            Self::Podcast => "podcast",
            Self::Other => "other",
        }
    }
}

/// A tag and how many resources carry it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TagCount {
    pub tag: String,
    pub resources: u32,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TagList {
    pub items: Vec<TagCount>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<&resourcify_app::Page<resourcify_app::TagCount>> for TagList {
    fn from(page: &resourcify_app::Page<resourcify_app::TagCount>) -> Self {
        Self {
            items: page
                .items
                .iter()
                .map(|t| TagCount {
                    tag: t.tag.clone(),
                    resources: t.resources.max(0) as u32,
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// A comment in thread order: `depth` 0 is top-level, replies follow their
/// parent.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Comment {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author: Author,
    /// Empty once deleted or removed.
    pub body: String,
    pub depth: u32,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted by its author or removed by a moderator; its place in the
    /// thread stays so replies keep their context.
    pub deleted: bool,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CommentList {
    pub items: Vec<Comment>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<&resourcify_app::Page<resourcify_app::CommentRow>> for CommentList {
    fn from(page: &resourcify_app::Page<resourcify_app::CommentRow>) -> Self {
        Self {
            items: page
                .items
                .iter()
                .map(|c| Comment {
                    id: c.id,
                    parent_id: c.parent_id,
                    author: Author {
                        user_id: c.author_id,
                        username: c.author_username.clone(),
                    },
                    body: c.body.clone(),
                    depth: c.depth.max(0) as u32,
                    posted_at: c.posted_at,
                    edited_at: c.edited_at,
                    deleted: c.gone,
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// One public moderation action.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ModerationEntry {
    /// Stream position of the action.
    pub position: u64,
    /// `resource.hidden`, `resource.restored` or `comment.removed`.
    pub action: String,
    /// `resource` or `comment`.
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub reason: String,
    /// Absent for the operator.
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ModerationLog {
    pub items: Vec<ModerationEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<resourcify_app::Page<resourcify_app::ModerationEntry>> for ModerationLog {
    fn from(page: resourcify_app::Page<resourcify_app::ModerationEntry>) -> Self {
        Self {
            items: page
                .items
                .into_iter()
                .map(|e| ModerationEntry {
                    position: e.position.max(0) as u64,
                    action: e.action,
                    subject_kind: e.subject_kind,
                    subject_id: e.subject_id,
                    reason: e.reason,
                    moderator_id: e.moderator_id,
                    at: e.at,
                })
                .collect(),
            next_cursor: page.next_cursor,
        }
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
    pub followed_tags: Vec<String>,
    pub followed_users: Vec<FollowedUser>,
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
            followed_tags: account.followed_tags,
            followed_users: account
                .followed_users
                .into_iter()
                .map(|u| FollowedUser {
                    user_id: u.user_id,
                    username: u.username,
                })
                .collect(),
        }
    }
}
