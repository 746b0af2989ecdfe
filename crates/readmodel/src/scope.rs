//! The lists a resource belongs to (ADR 6; news items, ADR 8), by name.
//!
//! The projection computes a resource's lists in SQL, with the function
//! `resource_scopes` (migration `20261127150000_resource_scopes.sql`), so
//! that a replay can derive every list in one statement. Reads name the
//! lists with this type. The test `scopes_match_the_sql_function` holds the
//! two to the same rule: [`Scope::of`] is that rule, written once more in
//! Rust only so that the test can compare them.

use std::fmt;

use uuid::Uuid;

/// One list of resources, as the `resource_listings` rows name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every member's resource.
    All,
    /// Members' resources with this tag.
    Tag(String),
    /// Members' resources of this kind.
    Kind(String),
    /// One member's resources, by user id (which outlives a rename).
    Author(Uuid),
    /// Every news item.
    News,
    /// One news source's items.
    NewsSource(Uuid),
    /// News items with this tag.
    NewsTag(String),
}

impl Scope {
    /// The lists a visible resource belongs to: a member's resource
    /// (`source_id` none) or a news item of source `source_id`.
    pub fn of(source_id: Option<Uuid>, tags: &[String], kind: &str, author_id: Uuid) -> Vec<Self> {
        match source_id {
            None => [Self::All]
                .into_iter()
                .chain(tags.iter().cloned().map(Self::Tag))
                .chain([Self::Kind(kind.to_owned()), Self::Author(author_id)])
                .collect(),
            Some(source) => [Self::News, Self::NewsSource(source)]
                .into_iter()
                .chain(tags.iter().cloned().map(Self::NewsTag))
                .collect(),
        }
    }

    /// The lists a tag's followers read: members' resources and news items
    /// with the tag.
    pub fn tagged(tag: &str) -> [Self; 2] {
        [Self::Tag(tag.to_owned()), Self::NewsTag(tag.to_owned())]
    }

    /// The front page's lists: members' resources and news.
    pub const FRONT_PAGE: [Self; 2] = [Self::All, Self::News];

    pub(crate) fn keys(scopes: &[Self]) -> Vec<String> {
        scopes.iter().map(Self::to_string).collect()
    }
}

/// The list's key in `resource_listings.scope`.
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Tag(tag) => write!(f, "tag:{tag}"),
            Self::Kind(kind) => write!(f, "kind:{kind}"),
            Self::Author(id) => write!(f, "author:{id}"),
            Self::News => f.write_str("news"),
            Self::NewsSource(id) => write!(f, "news:source:{id}"),
            Self::NewsTag(tag) => write!(f, "news:tag:{tag}"),
        }
    }
}
