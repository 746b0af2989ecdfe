//! Request and response bodies, as the OpenAPI document describes them.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_app::{ResourcePage, ResourceRow};
use uuid::Uuid;

#[derive(Debug, Object)]
#[oai(example)]
pub struct NewUser {
    /// 3 to 32 characters from `[a-z0-9_]` (stored lower-case).
    pub username: String,
    pub email: String,
    /// 8 to 128 characters.
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

#[derive(Debug, Object)]
pub struct RegisteredUser {
    pub user_id: Uuid,
    pub username: String,
    /// A bearer token for the new account.
    pub access_token: String,
    /// Stream position of the registration; send as `X-Resourcify-Min-Position`.
    pub position: u64,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    /// Username or e-mail address.
    pub login: String,
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

#[derive(Debug, Object)]
pub struct SessionToken {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
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
#[oai(example)]
pub struct NewResource {
    /// 3 to 200 characters.
    pub title: String,
    /// An absolute http(s) URL.
    pub url: String,
    /// Up to 5,000 characters.
    #[oai(default)]
    pub description: String,
    /// 1 to 5 tags: lower-case `[a-z0-9+#.-]`, up to 32 characters each.
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
pub struct SubmittedResource {
    pub id: Uuid,
    /// Stream position of the submission; send as `X-Resourcify-Min-Position`.
    pub position: u64,
}

#[derive(Debug, Object)]
pub struct Author {
    pub user_id: Uuid,
    pub username: String,
}

#[derive(Debug, Object)]
pub struct Resource {
    pub id: Uuid,
    pub title: String,
    pub url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: String,
    pub author: Author,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many changes the resource has had; 1 after submission.
    pub version: u32,
}

impl From<ResourceRow> for Resource {
    fn from(row: ResourceRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            url: row.url,
            description: row.description,
            tags: row.tags,
            kind: row.kind,
            author: Author {
                user_id: row.author_id,
                username: row.author_username,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version.max(0) as u32,
        }
    }
}

#[derive(Debug, Object)]
pub struct ResourceList {
    pub items: Vec<Resource>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<ResourcePage> for ResourceList {
    fn from(page: ResourcePage) -> Self {
        Self {
            items: page.items.into_iter().map(Resource::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// The larger of the header and query forms of the read-your-writes position.
pub(crate) fn min_position(header: Option<u64>, query: Option<u64>) -> Option<u64> {
    header.max(query)
}

impl ResourceKind {
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
