//! The resource aggregate: a link to something worth learning from, and
//! who may change it.

mod events;
pub mod revision;
mod values;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Actor, Aggregate, DomainError};

pub use events::*;
pub use values::*;

/// Commands on a resource. `actor` is who asks.
#[derive(Debug, Clone)]
pub enum ResourceCommand {
    Submit(SubmitResource),
    Edit {
        actor: Actor,
        edit: ValidResourceEdit,
        at: DateTime<Utc>,
    },
    Retract {
        actor: Actor,
        at: DateTime<Utc>,
    },
    Hide {
        actor: Actor,
        reason: String,
        at: DateTime<Utc>,
    },
    Restore {
        actor: Actor,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The ingester's, for an item it found in a source's feed.
    PublishNewsItem(PublishNewsItem),
}

#[derive(Debug, Clone)]
pub struct PublishNewsItem {
    pub resource_id: Uuid,
    pub source_id: Uuid,
    pub source_title: String,
    pub guid: String,
    pub item: ValidNewsItem,
    pub published_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SubmitResource {
    pub resource_id: Uuid,
    pub actor: Actor,
    pub submission: ValidSubmission,
    pub at: DateTime<Utc>,
}

/// What the write side knows about a resource to decide commands, on it and
/// on what hangs off it (votes, bookmarks, comments).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    pub id: Option<Uuid>,
    pub author_id: Uuid,
    pub title: String,
    pub canonical_url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: Option<ResourceKind>,
    /// Set for a news item: the source it came from.
    pub source_id: Option<Uuid>,
    pub hidden: bool,
    /// How many times a moderator hid it: each hide ends a round of flags
    /// (`crate::flag`).
    pub hidings: u32,
    pub retracted: bool,
    /// How many events the resource has; the read model shows it as `version`.
    pub version: u32,
}

impl Resource {
    /// The resource, if `actor` may see it: it exists, is not retracted, and
    /// is hidden only from those who are not moderators. What one may not
    /// see answers as missing, so hiding leaks nothing.
    pub fn visible_to(&self, actor: &Actor) -> Result<Uuid, DomainError> {
        match self.id {
            Some(id) if !self.retracted && (!self.hidden || actor.is_moderator()) => Ok(id),
            _ => Err(DomainError::NotFound("resource")),
        }
    }

    /// The resource, if `actor` is its author and may change things.
    fn authored_by(&self, actor: &Actor) -> Result<Uuid, DomainError> {
        let id = self.visible_to(actor)?;
        actor.ensure_active()?;
        // A news item has no author (its `author_id` is nil, as is the
        // operator's), so no one edits it.
        if self.source_id.is_some() || actor.user_id != self.author_id {
            return Err(DomainError::Forbidden(
                "only the author may change a resource",
            ));
        }
        Ok(id)
    }
}

impl Aggregate for Resource {
    const NAME: &'static str = "resource";
    type Command = ResourceCommand;
    type Event = ResourceEvent;

    fn decide(&self, command: &ResourceCommand) -> Result<Vec<ResourceEvent>, DomainError> {
        let event = match command {
            ResourceCommand::Submit(cmd) => {
                cmd.actor.ensure_active()?;
                if self.id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "resource",
                        id: cmd.resource_id.to_string(),
                    });
                }
                let s = &cmd.submission;
                ResourceEvent::Submitted(ResourceSubmitted {
                    resource_id: cmd.resource_id,
                    author_id: cmd.actor.user_id,
                    title: s.title.as_str().to_owned(),
                    url: s.url.as_str().to_owned(),
                    canonical_url: s.url.canonical(),
                    description: s.description.as_str().to_owned(),
                    tags: s.tags.to_strings(),
                    kind: s.kind,
                    submitted_at: cmd.at,
                })
            }
            ResourceCommand::PublishNewsItem(cmd) => {
                if self.id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "resource",
                        id: cmd.resource_id.to_string(),
                    });
                }
                let item = &cmd.item;
                ResourceEvent::NewsItemPublished(NewsItemPublished {
                    resource_id: cmd.resource_id,
                    source_id: cmd.source_id,
                    source_title: cmd.source_title.clone(),
                    guid: cmd.guid.clone(),
                    title: item.title.as_str().to_owned(),
                    // Feeds tag their links for analytics; the item is the page.
                    url: item.url.canonical(),
                    canonical_url: item.url.canonical(),
                    summary: item.summary.as_str().to_owned(),
                    tags: item.tags.to_strings(),
                    published_at: cmd.published_at.min(cmd.at),
                    found_at: cmd.at,
                })
            }
            ResourceCommand::Edit { actor, edit, at } => {
                let resource_id = self.authored_by(actor)?;
                let title = edit
                    .title
                    .as_ref()
                    .map_or(self.title.clone(), |t| t.as_str().to_owned());
                let description = edit
                    .description
                    .as_ref()
                    .map_or(self.description.clone(), |d| d.as_str().to_owned());
                let tags = edit
                    .tags
                    .as_ref()
                    .map_or(self.tags.clone(), Tags::to_strings);
                let kind = edit.kind.or(self.kind).unwrap_or(ResourceKind::Other);
                if (&title, &description, &tags, Some(kind))
                    == (&self.title, &self.description, &self.tags, self.kind)
                {
                    return Ok(vec![]);
                }
                ResourceEvent::Edited(ResourceEdited {
                    resource_id,
                    title,
                    description,
                    tags,
                    kind,
                    edited_by: actor.user_id,
                    at: *at,
                })
            }
            ResourceCommand::Retract { actor, at } => ResourceEvent::Retracted(ResourceRetracted {
                resource_id: self.authored_by(actor)?,
                retracted_by: actor.user_id,
                at: *at,
            }),
            ResourceCommand::Hide { actor, reason, at } => {
                actor.ensure_moderator()?;
                let resource_id = self.visible_to(actor)?;
                if self.hidden {
                    return Err(DomainError::Conflict("the resource is already hidden"));
                }
                ResourceEvent::Hidden(ResourceHidden {
                    resource_id,
                    reason: reason.clone(),
                    moderator_id: actor.recorded_id(),
                    at: *at,
                })
            }
            ResourceCommand::Restore { actor, reason, at } => {
                actor.ensure_moderator()?;
                let resource_id = self.visible_to(actor)?;
                if !self.hidden {
                    return Err(DomainError::Conflict("the resource is not hidden"));
                }
                ResourceEvent::Restored(ResourceRestored {
                    resource_id,
                    reason: reason.clone(),
                    moderator_id: actor.recorded_id(),
                    at: *at,
                })
            }
        };
        Ok(vec![event])
    }

    fn evolve(mut self, event: &ResourceEvent) -> Self {
        match event {
            ResourceEvent::Submitted(e) => {
                self.id = Some(e.resource_id);
                self.author_id = e.author_id;
                self.title = e.title.clone();
                self.canonical_url = e.canonical_url.clone();
                self.description = e.description.clone();
                self.tags = e.tags.clone();
                self.kind = Some(e.kind);
            }
            ResourceEvent::NewsItemPublished(e) => {
                self.id = Some(e.resource_id);
                self.source_id = Some(e.source_id);
                self.title = e.title.clone();
                self.canonical_url = e.canonical_url.clone();
                self.description = e.summary.clone();
                self.tags = e.tags.clone();
                self.kind = Some(ResourceKind::Article);
            }
            ResourceEvent::Edited(e) => {
                self.title = e.title.clone();
                self.description = e.description.clone();
                self.tags = e.tags.clone();
                self.kind = Some(e.kind);
            }
            ResourceEvent::Retracted(_) => self.retracted = true,
            ResourceEvent::Hidden(_) => {
                self.hidden = true;
                self.hidings += 1;
            }
            ResourceEvent::Restored(_) => self.hidden = false,
        }
        self.version += 1;
        self
    }
}

/// What the tests of the aggregates that hang off a resource start from.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Resource `id`, as `author` submitted it.
    pub(crate) fn submitted(id: Uuid, author: Uuid) -> Resource {
        let tags = vec!["rust".to_owned()];
        let submission = Submission {
            title: "A resource",
            url: "https://example.org/a",
            description: "",
            tags: &tags,
            kind: "article",
        }
        .validate()
        .unwrap();
        let command = ResourceCommand::Submit(SubmitResource {
            resource_id: id,
            actor: Actor::member(author),
            submission,
            at: DateTime::UNIX_EPOCH,
        });
        Resource::from_history(&Resource::default().decide(&command).unwrap())
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
        assert_eq!(valid.title.as_str(), "The Rust Book");
        assert_eq!(valid.kind, ResourceKind::Book);
        let tags = valid.tags.to_strings();
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
        // One page whatever its scheme (#21); other ports stay apart.
        assert_eq!(canonical("http://example.org/"), "https://example.org/");
        assert_eq!(
            canonical("http://example.org:8080/x"),
            "https://example.org:8080/x"
        );
        assert_eq!(
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
    fn feed_items_are_accepted_leniently() {
        let tags: Vec<String> = [
            "Rust",
            "Systems Programming",
            "bad tag!",
            "a",
            "b",
            "c",
            "d",
        ]
        .map(String::from)
        .to_vec();
        let item = NewsItemDraft {
            title: "  Go\n",
            url: "https://example.org/post?utm_source=rss",
            summary: &"word ".repeat(2_000),
            tags: &tags,
        }
        .validate()
        .unwrap();
        assert_eq!(
            item.title.as_str(),
            "https://example.org/post?utm_source=rss"
        );
        assert_eq!(item.summary.as_str().chars().count(), 5_000);
        assert!(item.summary.as_str().ends_with('…'));
        assert_eq!(
            item.tags.to_strings(),
            ["rust", "systems-programming", "a", "b", "c"]
        );
        let no_link = NewsItemDraft {
            title: "A title",
            url: "javascript:alert(1)",
            summary: "",
            tags: &[],
        };
        assert!(no_link.validate().is_err());
    }

    #[test]
    fn a_news_item_is_published_once_and_edited_by_no_one() {
        let item = NewsItemDraft {
            title: "Announcing Rust 1.99",
            url: "https://blog.rust-lang.org/1.99?utm_medium=feed",
            summary: "",
            tags: &[],
        }
        .validate()
        .unwrap();
        let publish = ResourceCommand::PublishNewsItem(PublishNewsItem {
            resource_id: Uuid::from_u128(9),
            source_id: Uuid::from_u128(3),
            source_title: "Rust Blog".into(),
            guid: "g".into(),
            item,
            published_at: DateTime::UNIX_EPOCH + chrono::TimeDelta::days(30_000),
            at: DateTime::UNIX_EPOCH,
        });
        let events = Resource::default().decide(&publish).unwrap();
        let ResourceEvent::NewsItemPublished(published) = &events[0] else {
            panic!("expected a news item");
        };
        assert_eq!(published.url, "https://blog.rust-lang.org/1.99");
        assert_eq!(published.tags, ["news"]);
        assert_eq!(
            published.published_at,
            DateTime::UNIX_EPOCH,
            "never in the future"
        );
        let item = Resource::from_history(&events);
        assert!(item.decide(&publish).is_err());
        for actor in [Actor::operator(), Actor::member(Uuid::nil())] {
            let edit = ResourceCommand::Edit {
                actor,
                edit: ValidResourceEdit {
                    title: Some(Title::parse("Mine now").unwrap()),
                    ..ValidResourceEdit::default()
                },
                at: DateTime::UNIX_EPOCH,
            };
            assert!(matches!(item.decide(&edit), Err(DomainError::Forbidden(_))));
        }
    }

    #[test]
    fn a_submitted_resource_cannot_be_submitted_again() {
        let tags = vec!["rust".to_owned()];
        let cmd = ResourceCommand::Submit(SubmitResource {
            resource_id: Uuid::from_u128(7),
            actor: Actor::member(Uuid::from_u128(1)),
            submission: submission(&tags).validate().unwrap(),
            at: DateTime::UNIX_EPOCH,
        });
        let events = Resource::default().decide(&cmd).unwrap();
        let resource = Resource::from_history(&events);
        assert_eq!(resource.version, 1);
        assert!(resource.decide(&cmd).is_err());
    }
}
