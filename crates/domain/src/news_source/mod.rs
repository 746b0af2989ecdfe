//! The news source aggregate: a feed an admin added, and what polling it
//! has found. Its items are resources of their own (see
//! [`crate::resource::NewsItemPublished`]).

mod events;
mod values;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::{Actor, Aggregate, DomainError};

pub use events::*;
pub use values::*;

#[derive(Debug, Clone)]
pub enum NewsSourceCommand {
    Add {
        source_id: Uuid,
        actor: Actor,
        source: ValidNewsSource,
        at: DateTime<Utc>,
    },
    Update {
        actor: Actor,
        edit: ValidNewsSourceEdit,
        at: DateTime<Utc>,
    },
    Remove {
        actor: Actor,
        at: DateTime<Utc>,
    },
    RequestRefresh {
        actor: Actor,
        at: DateTime<Utc>,
    },
    /// The ingester's report of one poll; not a person's command.
    RecordFetch {
        result: FetchResult,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewsSource {
    pub id: Option<Uuid>,
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub poll_interval_seconds: u32,
    pub removed: bool,
    /// The validators of the last answer read, for a conditional request.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub consecutive_failures: u32,
}

impl NewsSource {
    /// The source's id, if it exists and was not removed.
    fn current(&self) -> Result<Uuid, DomainError> {
        match self.id {
            Some(id) if !self.removed => Ok(id),
            _ => Err(DomainError::NotFound("news source")),
        }
    }

    /// When the source is due again after a poll that left it with
    /// `failures` consecutive failures: doubling per failure, at most daily.
    pub fn next_fetch_after(&self, failures: u32, at: DateTime<Utc>) -> DateTime<Utc> {
        let interval = u64::from(self.poll_interval_seconds.max(1));
        let delay = if failures == 0 {
            interval
        } else {
            (interval << failures.min(16)).min(u64::from(MAX_BACKOFF_SECONDS))
        };
        at + TimeDelta::seconds(delay as i64)
    }

    fn record_fetch(&self, result: &FetchResult, at: DateTime<Utc>) -> NewsSourceFetched {
        let source_id = self.id.unwrap_or_default();
        let (status, error, etag, last_modified, feed_title, new_items, failures) = match result {
            FetchResult::Read {
                etag,
                last_modified,
                feed_title,
                new_items,
            } => (
                FetchStatus::Read,
                None,
                etag.clone(),
                last_modified.clone(),
                feed_title.clone(),
                *new_items,
                0,
            ),
            FetchResult::NotModified => (
                FetchStatus::NotModified,
                None,
                self.etag.clone(),
                self.last_modified.clone(),
                None,
                0,
                0,
            ),
            FetchResult::Failed { error } => (
                FetchStatus::Failed,
                Some(error.clone()),
                self.etag.clone(),
                self.last_modified.clone(),
                None,
                0,
                self.consecutive_failures.saturating_add(1),
            ),
        };
        NewsSourceFetched {
            source_id,
            status,
            error,
            etag,
            last_modified,
            feed_title,
            new_items,
            consecutive_failures: failures,
            next_fetch_at: self.next_fetch_after(failures, at),
            at,
        }
    }
}

impl Aggregate for NewsSource {
    const NAME: &'static str = "news-source";
    type Command = NewsSourceCommand;
    type Event = NewsSourceEvent;

    fn decide(&self, command: &NewsSourceCommand) -> Result<Vec<NewsSourceEvent>, DomainError> {
        let event = match command {
            NewsSourceCommand::Add {
                source_id,
                actor,
                source,
                at,
            } => {
                actor.ensure_admin()?;
                if self.id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "news source",
                        id: source_id.to_string(),
                    });
                }
                NewsSourceEvent::Added(NewsSourceAdded {
                    source_id: *source_id,
                    url: source.url.as_str().to_owned(),
                    title: source.title.as_ref().map(|t| t.as_str().to_owned()),
                    tags: source.tags.to_strings(),
                    poll_interval_seconds: source.poll_interval_seconds,
                    added_by: actor.recorded_id(),
                    at: *at,
                })
            }
            NewsSourceCommand::Update { actor, edit, at } => {
                actor.ensure_admin()?;
                let source_id = self.current()?;
                let updated = NewsSourceUpdated {
                    source_id,
                    url: edit
                        .url
                        .as_ref()
                        .map_or(self.url.clone(), |u| u.as_str().to_owned()),
                    title: match &edit.title {
                        Some(title) => title.as_ref().map(|t| t.as_str().to_owned()),
                        None => self.title.clone(),
                    },
                    tags: edit
                        .tags
                        .as_ref()
                        .map_or(self.tags.clone(), |t| t.to_strings()),
                    poll_interval_seconds: edit
                        .poll_interval_seconds
                        .unwrap_or(self.poll_interval_seconds),
                    updated_by: actor.recorded_id(),
                    at: *at,
                };
                if (
                    &updated.url,
                    &updated.title,
                    &updated.tags,
                    updated.poll_interval_seconds,
                ) == (
                    &self.url,
                    &self.title,
                    &self.tags,
                    self.poll_interval_seconds,
                ) {
                    return Ok(vec![]);
                }
                NewsSourceEvent::Updated(updated)
            }
            NewsSourceCommand::Remove { actor, at } => {
                actor.ensure_admin()?;
                NewsSourceEvent::Removed(NewsSourceRemoved {
                    source_id: self.current()?,
                    removed_by: actor.recorded_id(),
                    at: *at,
                })
            }
            NewsSourceCommand::RequestRefresh { actor, at } => {
                actor.ensure_admin()?;
                NewsSourceEvent::RefreshRequested(NewsSourceRefreshRequested {
                    source_id: self.current()?,
                    requested_by: actor.recorded_id(),
                    at: *at,
                })
            }
            NewsSourceCommand::RecordFetch { result, at } => {
                // A poll that raced with the source's removal reports nothing.
                if self.current().is_err() {
                    return Ok(vec![]);
                }
                NewsSourceEvent::Fetched(self.record_fetch(result, *at))
            }
        };
        Ok(vec![event])
    }

    fn evolve(mut self, event: &NewsSourceEvent) -> Self {
        match event {
            NewsSourceEvent::Added(e) => {
                self.id = Some(e.source_id);
                self.url = e.url.clone();
                self.title = e.title.clone();
                self.tags = e.tags.clone();
                self.poll_interval_seconds = e.poll_interval_seconds;
            }
            NewsSourceEvent::Updated(e) => {
                // Validators belong to the URL they came from.
                if e.url != self.url {
                    self.etag = None;
                    self.last_modified = None;
                }
                self.url = e.url.clone();
                self.title = e.title.clone();
                self.tags = e.tags.clone();
                self.poll_interval_seconds = e.poll_interval_seconds;
            }
            NewsSourceEvent::Removed(_) => self.removed = true,
            NewsSourceEvent::RefreshRequested(_) => {}
            NewsSourceEvent::Fetched(e) => {
                self.etag = e.etag.clone();
                self.last_modified = e.last_modified.clone();
                self.consecutive_failures = e.consecutive_failures;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> Actor {
        Actor::operator()
    }

    fn added(interval: u32) -> NewsSource {
        let tags = vec!["rust".to_owned()];
        let source = NewsSourceInput {
            url: "https://blog.example.org/feed.xml",
            title: None,
            tags: &tags,
            poll_interval_seconds: Some(interval),
        }
        .validate()
        .unwrap();
        let events = NewsSource::default()
            .decide(&NewsSourceCommand::Add {
                source_id: Uuid::from_u128(1),
                actor: admin(),
                source,
                at: DateTime::UNIX_EPOCH,
            })
            .unwrap();
        NewsSource::from_history(&events)
    }

    fn fetch(source: NewsSource, result: FetchResult) -> (NewsSource, NewsSourceFetched) {
        let events = source
            .decide(&NewsSourceCommand::RecordFetch {
                result,
                at: DateTime::UNIX_EPOCH,
            })
            .unwrap();
        let NewsSourceEvent::Fetched(fetched) = events[0].clone() else {
            panic!("expected a fetch report");
        };
        (source.evolve(&events[0]), fetched)
    }

    #[test]
    fn only_admins_add_sources() {
        let tags = vec!["rust".to_owned()];
        let source = NewsSourceInput {
            url: "https://example.org/feed",
            title: Some("Example"),
            tags: &tags,
            poll_interval_seconds: None,
        }
        .validate()
        .unwrap();
        assert_eq!(source.poll_interval_seconds, DEFAULT_POLL_INTERVAL_SECONDS);
        let refused = NewsSource::default().decide(&NewsSourceCommand::Add {
            source_id: Uuid::from_u128(1),
            actor: Actor::member(Uuid::from_u128(2)),
            source,
            at: DateTime::UNIX_EPOCH,
        });
        assert!(matches!(refused, Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_day_and_a_success_resets() {
        let source = added(600);
        let (source, first) = fetch(source, FetchResult::Failed { error: "x".into() });
        assert_eq!(first.consecutive_failures, 1);
        assert_eq!(first.next_fetch_at.timestamp(), 1_200);
        let (source, second) = fetch(source, FetchResult::Failed { error: "x".into() });
        assert_eq!(second.next_fetch_at.timestamp(), 2_400);
        let mut source = source;
        for _ in 0..20 {
            source = fetch(source, FetchResult::Failed { error: "x".into() }).0;
        }
        let (source, capped) = fetch(source, FetchResult::Failed { error: "x".into() });
        assert_eq!(
            capped.next_fetch_at.timestamp(),
            i64::from(MAX_BACKOFF_SECONDS)
        );
        let (source, ok) = fetch(
            source,
            FetchResult::Read {
                etag: Some("\"v1\"".into()),
                last_modified: None,
                feed_title: Some("Blog".into()),
                new_items: 3,
            },
        );
        assert_eq!(ok.consecutive_failures, 0);
        assert_eq!(ok.next_fetch_at.timestamp(), 600);
        assert_eq!(source.etag.as_deref(), Some("\"v1\""));
        // A 304 keeps the validators it was asked with.
        let (_, not_modified) = fetch(source, FetchResult::NotModified);
        assert_eq!(not_modified.etag.as_deref(), Some("\"v1\""));
    }

    #[test]
    fn a_new_url_forgets_the_old_validators() {
        let (source, _) = fetch(
            added(600),
            FetchResult::Read {
                etag: Some("\"v1\"".into()),
                last_modified: Some("Tue, 01 Jan 2030 00:00:00 GMT".into()),
                feed_title: None,
                new_items: 0,
            },
        );
        let edit = NewsSourceEdit {
            url: Some("https://blog.example.org/atom.xml"),
            ..NewsSourceEdit::default()
        }
        .validate()
        .unwrap();
        let events = source
            .decide(&NewsSourceCommand::Update {
                actor: admin(),
                edit,
                at: DateTime::UNIX_EPOCH,
            })
            .unwrap();
        let source = source.evolve(&events[0]);
        assert_eq!(source.etag, None);
        assert_eq!(source.last_modified, None);
    }

    #[test]
    fn a_removed_source_takes_no_reports_and_no_commands() {
        let source = added(600);
        let removed = source
            .decide(&NewsSourceCommand::Remove {
                actor: admin(),
                at: DateTime::UNIX_EPOCH,
            })
            .unwrap();
        let source = source.evolve(&removed[0]);
        let report = source.decide(&NewsSourceCommand::RecordFetch {
            result: FetchResult::NotModified,
            at: DateTime::UNIX_EPOCH,
        });
        assert_eq!(report, Ok(vec![]));
        let refresh = source.decide(&NewsSourceCommand::RequestRefresh {
            actor: admin(),
            at: DateTime::UNIX_EPOCH,
        });
        assert_eq!(refresh, Err(DomainError::NotFound("news source")));
    }
}
