//! The shapes of news sources on the wire.

use chrono::{DateTime, Utc};
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{Enum, Object};
use resourcify_app::NewsSourceRow;
use resourcify_app::Page;
use uuid::Uuid;

#[derive(Debug, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
pub struct NewNewsSource {
    /// The feed: RSS 2.0, Atom 1.0 or JSON Feed, over http(s). Addresses
    /// that are not public (loopback, private, link-local, metadata) are
    /// refused unless the operator allow-listed the host.
    pub url: String,
    /// 3 to 200 characters; without it the feed's own title is shown.
    pub title: Option<String>,
    /// 1 to 5 tags given to every item of the source.
    pub tags: Vec<String>,
    /// How often it is polled: 60 to 86,400 seconds (default 900). After
    /// failures it is polled less often, doubling each time, at most daily.
    #[oai(validator(minimum(value = "60"), maximum(value = "86400")))]
    pub poll_interval_seconds: Option<u32>,
}

impl Example for NewNewsSource {
    fn example() -> Self {
        Self {
            url: "https://blog.rust-lang.org/feed.xml".into(),
            title: None,
            tags: vec!["rust".into()],
            poll_interval_seconds: Some(900),
        }
    }
}

/// Absent fields stay as they are; `"title": null` goes back to the feed's title.
#[derive(Debug, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
pub struct NewsSourcePatch {
    pub url: Option<String>,
    pub title: MaybeUndefined<String>,
    pub tags: Option<Vec<String>>,
    #[oai(validator(minimum(value = "60"), maximum(value = "86400")))]
    pub poll_interval_seconds: Option<u32>,
}

impl Example for NewsSourcePatch {
    fn example() -> Self {
        Self {
            url: None,
            title: MaybeUndefined::Value("Inside Rust".into()),
            tags: None,
            poll_interval_seconds: Some(3_600),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum NewsSourceStatus {
    /// Not polled yet.
    Pending,
    /// The last poll succeeded (new items or not).
    Ok,
    /// The last poll failed; see `last_error`.
    Failing,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewsSource {
    pub id: Uuid,
    pub url: String,
    /// The admin's title, else the feed's, else absent until the first poll.
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub poll_interval_seconds: u32,
    pub status: NewsSourceStatus,
    /// Why the last poll failed, for the admin.
    pub last_error: Option<String>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// Items found in it so far.
    pub item_count: u32,
    pub next_fetch_at: DateTime<Utc>,
    pub added_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<NewsSourceRow> for NewsSource {
    fn from(row: NewsSourceRow) -> Self {
        Self {
            id: row.id,
            url: row.url,
            title: row.title.or(row.feed_title),
            tags: row.tags,
            poll_interval_seconds: row.poll_interval_seconds.max(0) as u32,
            status: match row.status.as_str() {
                "ok" => NewsSourceStatus::Ok,
                "failing" => NewsSourceStatus::Failing,
                _ => NewsSourceStatus::Pending,
            },
            last_error: row.last_error,
            last_fetched_at: row.last_fetched_at,
            consecutive_failures: row.consecutive_failures.max(0) as u32,
            item_count: row.items.max(0) as u32,
            next_fetch_at: row.next_fetch_at,
            added_at: row.added_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewsSourceList {
    pub items: Vec<NewsSource>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<NewsSourceRow>> for NewsSourceList {
    fn from(page: Page<NewsSourceRow>) -> Self {
        Self {
            items: page.items.into_iter().map(NewsSource::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}
