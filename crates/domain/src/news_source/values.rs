//! What a news source is made of, parsed once at the edge.

use crate::ValidationErrors;
use crate::resource::{ResourceUrl, Tags, Title};

/// How often a source is polled unless its admin says otherwise.
pub const DEFAULT_POLL_INTERVAL_SECONDS: u32 = 15 * 60;
/// Politeness to the publisher bounds the interval from below; a source
/// polled less than daily is hardly a news source.
pub const POLL_INTERVAL_SECONDS: std::ops::RangeInclusive<u32> = 60..=86_400;
/// A failing source is retried later and later, but at least daily.
pub const MAX_BACKOFF_SECONDS: u32 = 86_400;

/// A source as an admin describes it, before any rule is applied.
#[derive(Debug, Clone)]
pub struct NewsSourceInput<'a> {
    pub url: &'a str,
    pub title: Option<&'a str>,
    pub tags: &'a [String],
    pub poll_interval_seconds: Option<u32>,
}

/// A source description that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidNewsSource {
    pub url: ResourceUrl,
    /// `None`: the feed's own title is shown.
    pub title: Option<Title>,
    pub tags: Tags,
    pub poll_interval_seconds: u32,
}

fn poll_interval(seconds: u32) -> Result<u32, String> {
    if POLL_INTERVAL_SECONDS.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "must be {} to {} seconds",
            POLL_INTERVAL_SECONDS.start(),
            POLL_INTERVAL_SECONDS.end()
        ))
    }
}

impl NewsSourceInput<'_> {
    pub fn validate(&self) -> Result<ValidNewsSource, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let url = errors.check("url", ResourceUrl::parse(self.url));
        let title = errors.check("title", self.title.map(Title::parse).transpose());
        let tags = errors.check("tags", Tags::parse(self.tags));
        let interval = errors.check(
            "poll_interval_seconds",
            poll_interval(
                self.poll_interval_seconds
                    .unwrap_or(DEFAULT_POLL_INTERVAL_SECONDS),
            ),
        );
        match (url, title, tags, interval) {
            (Some(url), Some(title), Some(tags), Some(poll_interval_seconds)) => {
                Ok(ValidNewsSource {
                    url,
                    title,
                    tags,
                    poll_interval_seconds,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A change to a source as it arrives: absent fields stay as they are.
/// `title: Some(None)` goes back to the feed's own title.
#[derive(Debug, Clone, Default)]
pub struct NewsSourceEdit<'a> {
    pub url: Option<&'a str>,
    pub title: Option<Option<&'a str>>,
    pub tags: Option<&'a [String]>,
    pub poll_interval_seconds: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidNewsSourceEdit {
    pub url: Option<ResourceUrl>,
    pub title: Option<Option<Title>>,
    pub tags: Option<Tags>,
    pub poll_interval_seconds: Option<u32>,
}

impl NewsSourceEdit<'_> {
    pub fn validate(&self) -> Result<ValidNewsSourceEdit, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let url = errors.check("url", self.url.map(ResourceUrl::parse).transpose());
        let title = errors.check(
            "title",
            self.title
                .map(|title| title.map(Title::parse).transpose())
                .transpose(),
        );
        let tags = errors.check("tags", self.tags.map(Tags::parse).transpose());
        let interval = errors.check(
            "poll_interval_seconds",
            self.poll_interval_seconds.map(poll_interval).transpose(),
        );
        if self.url.is_none()
            && self.title.is_none()
            && self.tags.is_none()
            && self.poll_interval_seconds.is_none()
        {
            errors.check::<()>(
                "news_source",
                Err("name at least one of url, title, tags, poll_interval_seconds".into()),
            );
        }
        match (url, title, tags, interval) {
            (Some(url), Some(title), Some(tags), Some(poll_interval_seconds))
                if errors.is_empty() =>
            {
                Ok(ValidNewsSourceEdit {
                    url,
                    title,
                    tags,
                    poll_interval_seconds,
                })
            }
            _ => Err(errors),
        }
    }
}

/// What one poll of a source found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchResult {
    /// The feed answered and was read; `new_items` of its items were new.
    Read {
        etag: Option<String>,
        last_modified: Option<String>,
        feed_title: Option<String>,
        new_items: u32,
    },
    /// The feed has not changed since the validators were given.
    NotModified,
    /// The poll failed; `error` is meant for the admin.
    Failed { error: String },
}
