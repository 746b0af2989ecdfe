//! The resource aggregate: a link to something worth learning from.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent, ValidationErrors};

const TITLE_CHARS: std::ops::RangeInclusive<usize> = 3..=200;
const DESCRIPTION_MAX_CHARS: usize = 5_000;
const URL_MAX_LEN: usize = 2_048;
const TAGS_PER_RESOURCE: std::ops::RangeInclusive<usize> = 1..=5;
const TAG_MAX_CHARS: usize = 32;

/// A title of 3 to 200 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = raw.trim();
        if TITLE_CHARS.contains(&title.chars().count()) {
            Ok(Self(title.to_owned()))
        } else {
            Err(format!(
                "must be {} to {} characters",
                TITLE_CHARS.start(),
                TITLE_CHARS.end()
            ))
        }
    }
}

/// An absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUrl(url::Url);

impl ResourceUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.len() > URL_MAX_LEN {
            return Err(format!("must be at most {URL_MAX_LEN} bytes"));
        }
        let url = url::Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        Ok(Self(url))
    }

    /// The form under which two submissions count as the same resource:
    /// scheme and host lower-cased and default ports dropped (by parsing),
    /// the fragment and tracking parameters (`utm_*`, `fbclid`, `gclid`)
    /// removed, and a trailing slash dropped from any path but `/`.
    pub fn canonical(&self) -> String {
        let mut url = self.0.clone();
        url.set_fragment(None);
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !(key.starts_with("utm_") || key == "fbclid" || key == "gclid"))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        let path = url.path().to_owned();
        if path.len() > 1 && path.ends_with('/') {
            url.set_path(path.trim_end_matches('/'));
        }
        url.to_string()
    }
}

/// Free text of at most 5,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.chars().count() <= DESCRIPTION_MAX_CHARS {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "must be at most {DESCRIPTION_MAX_CHARS} characters"
            ))
        }
    }
}

/// A tag from the normalised vocabulary: lower-case `[a-z0-9+#.-]`, 1 to 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS {
            return Err(format!(
                "tag {raw:?} must be 1 to {TAG_MAX_CHARS} characters"
            ));
        }
        if !tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+#.-".contains(c))
        {
            return Err(format!(
                "tag {raw:?} may contain only a-z, 0-9 and the characters + # . -"
            ));
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 5 distinct tags, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = Tag::parse(tag.as_ref())?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if TAGS_PER_RESOURCE.contains(&tags.len()) {
            Ok(Self(tags))
        } else {
            Err(format!(
                "must name {} to {} distinct tags",
                TAGS_PER_RESOURCE.start(),
                TAGS_PER_RESOURCE.end()
            ))
        }
    }
}

/// What sort of thing a resource links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Article,
    Video,
    Course,
    Book,
    Tool,
    Podcast,
    Other,
}

impl ResourceKind {
    pub const ALL: [Self; 7] = [
        Self::Article,
        Self::Video,
        Self::Course,
        Self::Book,
        Self::Tool,
        Self::Podcast,
        Self::Other,
    ];

    pub fn as_str(&self) -> &'static str {
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

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim().to_lowercase())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

/// Submission input as it arrives, before any rule is applied.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub kind: &'a str,
}

/// Submission input that passed every field rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSubmission {
    pub title: Title,
    pub url: ResourceUrl,
    pub description: Description,
    pub tags: Tags,
    pub kind: ResourceKind,
}

impl Submission<'_> {
    /// Checks every field, reporting all failures together.
    pub fn validate(&self) -> Result<ValidSubmission, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = errors.check("title", Title::parse(self.title));
        let url = errors.check("url", ResourceUrl::parse(self.url));
        let description = errors.check("description", Description::parse(self.description));
        let tags = errors.check("tags", Tags::parse(self.tags));
        let kind = errors.check("kind", self.kind.parse());
        match (title, url, description, tags, kind) {
            (Some(title), Some(url), Some(description), Some(tags), Some(kind)) => {
                Ok(ValidSubmission {
                    title,
                    url,
                    description,
                    tags,
                    kind,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Commands on a resource.
#[derive(Debug, Clone)]
pub enum ResourceCommand {
    Submit(SubmitResource),
}

#[derive(Debug, Clone)]
pub struct SubmitResource {
    pub resource_id: Uuid,
    pub author_id: Uuid,
    pub submission: ValidSubmission,
    pub at: DateTime<Utc>,
}

/// A member shared a resource with the community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSubmitted {
    pub resource_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: ResourceKind,
    pub submitted_at: DateTime<Utc>,
}

/// Events of the resource aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceEvent {
    Submitted(ResourceSubmitted),
}

impl From<ResourceEvent> for DomainEvent {
    fn from(event: ResourceEvent) -> Self {
        match event {
            ResourceEvent::Submitted(e) => DomainEvent::ResourceSubmitted(e),
        }
    }
}

impl TryFrom<DomainEvent> for ResourceEvent {
    type Error = DomainEvent;

    fn try_from(event: DomainEvent) -> Result<Self, Self::Error> {
        match event {
            DomainEvent::ResourceSubmitted(e) => Ok(ResourceEvent::Submitted(e)),
            other => Err(other),
        }
    }
}

/// What the write side needs to know about a resource to decide commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    pub author_id: Option<Uuid>,
    /// How many events the resource has; the read model shows it as `version`.
    pub version: u32,
}

impl Aggregate for Resource {
    const NAME: &'static str = "resource";
    type Command = ResourceCommand;
    type Event = ResourceEvent;

    fn decide(&self, command: &ResourceCommand) -> Result<Vec<ResourceEvent>, DomainError> {
        match command {
            ResourceCommand::Submit(cmd) => {
                if self.author_id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "resource",
                        id: cmd.resource_id.to_string(),
                    });
                }
                let s = &cmd.submission;
                Ok(vec![ResourceEvent::Submitted(ResourceSubmitted {
                    resource_id: cmd.resource_id,
                    author_id: cmd.author_id,
                    title: s.title.0.clone(),
                    url: s.url.0.to_string(),
                    description: s.description.0.clone(),
                    tags: s.tags.0.iter().map(|t| t.as_str().to_owned()).collect(),
                    kind: s.kind,
                    submitted_at: cmd.at,
                })])
            }
        }
    }

    fn evolve(self, event: &ResourceEvent) -> Self {
        match event {
            ResourceEvent::Submitted(e) => Resource {
                author_id: Some(e.author_id),
                version: self.version + 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission<'a>(tags: &'a [String]) -> Submission<'a> {
        Submission {
            title: "  The Rust Book ",
            url: "https://doc.rust-lang.org/book/",
            description: "Learn Rust",
            tags,
            kind: "Book",
        }
    }

    #[test]
    fn a_valid_submission_is_normalised() {
        let tags = vec!["Rust".to_owned(), "rust".to_owned(), "c++".to_owned()];
        let valid = submission(&tags).validate().unwrap();
        assert_eq!(valid.title, Title("The Rust Book".into()));
        assert_eq!(valid.kind, ResourceKind::Book);
        let tags: Vec<_> = valid.tags.0.iter().map(Tag::as_str).collect();
        assert_eq!(tags, ["rust", "c++"]);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let tags: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
        let errors = Submission {
            title: "",
            url: "ftp://example.org/x",
            description: &"x".repeat(5_001),
            tags: &tags,
            kind: "blog",
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "url", "description", "tags", "kind"]);
    }

    #[test]
    fn tags_follow_the_vocabulary() {
        assert!(Tag::parse("c#").is_ok());
        assert!(Tag::parse("node.js").is_ok());
        assert!(Tag::parse("has space").is_err());
        assert!(Tag::parse(&"x".repeat(33)).is_err());
        assert!(Tags::parse::<String>(&[]).is_err());
    }

    #[test]
    fn urls_that_differ_only_in_form_share_a_canonical_url() {
        let canonical = |raw: &str| ResourceUrl::parse(raw).unwrap().canonical();
        let expected = "https://example.org/a/b?id=7";
        for variant in [
            "https://example.org/a/b?id=7",
            "HTTPS://Example.ORG:443/a/b/?id=7",
            "https://example.org/a/b?id=7#section",
            "https://example.org/a/b?utm_source=x&id=7&utm_medium=y",
            "https://example.org/a/b?id=7&fbclid=abc&gclid=def",
        ] {
            assert_eq!(canonical(variant), expected, "{variant}");
        }
        assert_eq!(canonical("http://example.org/"), "http://example.org/");
        assert_eq!(
            canonical("http://example.org:8080/x"),
            "http://example.org:8080/x"
        );
        assert_ne!(
            canonical("http://example.org/a"),
            canonical("https://example.org/a")
        );
        assert_ne!(
            canonical("https://example.org/A"),
            canonical("https://example.org/a")
        );
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(ResourceUrl::parse("http://example.org").is_ok());
        assert!(ResourceUrl::parse("javascript:alert(1)").is_err());
        assert!(ResourceUrl::parse("https://").is_err());
        assert!(ResourceUrl::parse("not a url").is_err());
    }

    #[test]
    fn a_submitted_resource_cannot_be_submitted_again() {
        let tags = vec!["rust".to_owned()];
        let cmd = ResourceCommand::Submit(SubmitResource {
            resource_id: Uuid::from_u128(7),
            author_id: Uuid::from_u128(1),
            submission: submission(&tags).validate().unwrap(),
            at: DateTime::UNIX_EPOCH,
        });
        let events = Resource::default().decide(&cmd).unwrap();
        let resource = Resource::from_history(&events);
        assert_eq!(resource.version, 1);
        assert!(resource.decide(&cmd).is_err());
    }
}
