//! Projection "news": the news sources admins manage and how polling them
//! goes. The items themselves are resources (see the resources projection).
//!
//! Every update is guarded by the row's `position`, the stream position of
//! the last event applied to it, and a run that holds several events for
//! one source applies only the latest (their fields are given whole).

use super::{RunStatement, Statement};
use resourcify_domain::DomainEvent;
use resourcify_domain::news_source::NewsSourceEvent;
use resourcify_domain::resource::ResourceEvent;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Added,
    Updated,
    Removed,
    RefreshRequested,
    Fetched,
    ItemPublished,
}

pub(super) fn change_of(event: &DomainEvent) -> Option<Change> {
    Some(match event {
        DomainEvent::NewsSource(e) => match e {
            NewsSourceEvent::Added(_) => Change::Added,
            NewsSourceEvent::Updated(_) => Change::Updated,
            NewsSourceEvent::Removed(_) => Change::Removed,
            NewsSourceEvent::RefreshRequested(_) => Change::RefreshRequested,
            NewsSourceEvent::Fetched(_) => Change::Fetched,
        },
        DomainEvent::Resource(ResourceEvent::NewsItemPublished(_)) => Change::ItemPublished,
        _ => return None,
    })
}

/// The notice's keys are source ids.
pub(super) const KEY: &str = "source_id";

impl RunStatement for Change {
    fn statement(self, rows: Value) -> Statement {
        match self {
            Change::Added => sqlx::query!(
                "INSERT INTO news_sources (id, listed_at, url, title, tags, poll_interval_seconds,
                                           next_fetch_at, added_at, updated_at, position)
                 SELECT source_id, ord, url, title, tags, poll_interval_seconds, at, at, at, ord
                 FROM jsonb_to_recordset($1::jsonb) AS b(
                     source_id uuid, url text, title text, tags text[],
                     poll_interval_seconds integer, at timestamptz, ord bigint)
                 ON CONFLICT (id) DO NOTHING",
                rows
            ),
            // A new URL is a new feed: it is polled at once, from scratch.
            Change::Updated => sqlx::query!(
                "UPDATE news_sources s
                 SET url = b.url, title = b.title, tags = b.tags,
                     poll_interval_seconds = b.poll_interval_seconds, updated_at = b.at,
                     status = CASE WHEN s.url <> b.url THEN 'pending' ELSE s.status END,
                     next_fetch_at = CASE WHEN s.url <> b.url THEN b.at ELSE s.next_fetch_at END,
                     position = b.ord
                 FROM (
                     SELECT DISTINCT ON (source_id) *
                     FROM jsonb_to_recordset($1::jsonb) AS b(
                         source_id uuid, url text, title text, tags text[],
                         poll_interval_seconds integer, at timestamptz, ord bigint)
                     ORDER BY source_id, ord DESC
                 ) b
                 WHERE s.id = b.source_id AND s.position < b.ord",
                rows
            ),
            Change::Removed => sqlx::query!(
                "UPDATE news_sources s SET removed = true, updated_at = b.at, position = b.ord
                 FROM jsonb_to_recordset($1::jsonb) AS b(source_id uuid, at timestamptz, ord bigint)
                 WHERE s.id = b.source_id AND s.position < b.ord",
                rows
            ),
            Change::RefreshRequested => sqlx::query!(
                "UPDATE news_sources s SET next_fetch_at = b.at, position = b.ord
                 FROM (
                     SELECT DISTINCT ON (source_id) *
                     FROM jsonb_to_recordset($1::jsonb) AS b(
                         source_id uuid, at timestamptz, ord bigint)
                     ORDER BY source_id, ord DESC
                 ) b
                 WHERE s.id = b.source_id AND s.position < b.ord",
                rows
            ),
            Change::Fetched => sqlx::query!(
                "UPDATE news_sources s
                 SET status = CASE b.status WHEN 'failed' THEN 'failing' ELSE 'ok' END,
                     last_error = b.error, last_fetched_at = b.at,
                     feed_title = coalesce(b.feed_title, s.feed_title),
                     consecutive_failures = b.consecutive_failures,
                     next_fetch_at = b.next_fetch_at, position = b.ord
                 FROM (
                     SELECT DISTINCT ON (source_id) *
                     FROM jsonb_to_recordset($1::jsonb) AS b(
                         source_id uuid, status text, error text, feed_title text,
                         consecutive_failures integer, next_fetch_at timestamptz,
                         at timestamptz, ord bigint)
                     ORDER BY source_id, ord DESC
                 ) b
                 WHERE s.id = b.source_id AND s.position < b.ord",
                rows
            ),
            Change::ItemPublished => sqlx::query!(
                "UPDATE news_sources s SET items = s.items + b.n, position = b.ord
                 FROM (
                     SELECT source_id, count(*)::int AS n, max(ord) AS ord
                     FROM jsonb_to_recordset($1::jsonb) AS b(source_id uuid, ord bigint)
                     GROUP BY source_id
                 ) b
                 WHERE s.id = b.source_id AND s.position < b.ord",
                rows
            ),
        }
    }
}
