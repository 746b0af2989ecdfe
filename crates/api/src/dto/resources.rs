//! Resources on the wire: submissions, edits, what a read answers, list orders.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_app::{ResourcePage, ResourceRow};
use uuid::Uuid;

use super::shared::{EXAMPLE_RESOURCE, EXAMPLE_USER, example_time};

/// A resource change; absent fields stay as they are. The URL, the author
/// and the counts cannot change here, and naming them is refused.
#[derive(Debug, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
pub struct ResourcePatch {
    /// 3 to 200 characters.
    pub title: Option<String>,
    /// Up to 5,000 characters.
    pub description: Option<String>,
    /// 1 to 5 tags.
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
    /// Held for review: enough members flagged it, so the public lists,
    /// search, news and site pages leave it out until a moderator keeps or
    /// hides it. It is still there by id and in its bookmarks.
    pub held: bool,
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
            held: false,
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
            held: row.held,
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

impl ResourceKind {
    /// A kind as the views store it; the views only hold the domain's kinds.
    fn parse(kind: &str) -> Self {
        use resourcify_domain::resource::ResourceKind as Kind;
        match kind.parse::<Kind>().unwrap_or(Kind::Other) {
            Kind::Article => Self::Article,
            Kind::Video => Self::Video,
            Kind::Course => Self::Course,
            Kind::Book => Self::Book,
            Kind::Tool => Self::Tool,
            Kind::Podcast => Self::Podcast,
            Kind::Other => Self::Other,
        }
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
