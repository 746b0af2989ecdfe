//! Projection "resources": resources with their vote counts, every list
//! they appear in, tag counts, their authors' public names, and the public
//! moderation log.

use std::collections::BTreeMap;

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::user::UserEvent;
use resourcify_domain::vote::VoteEvent;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Positioned, Upkeep, runs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    AuthorRegistered,
    AuthorDeleted,
    Submitted,
    Edited,
    Retracted,
    Hidden,
    Restored,
    NewsItemPublished,
    VoteCast,
    VoteWithdrawn,
    CommentRemoved,
}

fn change_of(event: &DomainEvent) -> Option<Change> {
    Some(match event {
        DomainEvent::User(UserEvent::Registered(_)) => Change::AuthorRegistered,
        DomainEvent::User(UserEvent::Deleted(_)) => Change::AuthorDeleted,
        DomainEvent::Resource(e) => match e {
            ResourceEvent::Submitted(_) => Change::Submitted,
            ResourceEvent::Edited(_) => Change::Edited,
            ResourceEvent::Retracted(_) => Change::Retracted,
            ResourceEvent::Hidden(_) => Change::Hidden,
            ResourceEvent::Restored(_) => Change::Restored,
            ResourceEvent::NewsItemPublished(_) => Change::NewsItemPublished,
        },
        DomainEvent::Vote(VoteEvent::Cast(_)) => Change::VoteCast,
        DomainEvent::Vote(VoteEvent::Withdrawn(_)) => Change::VoteWithdrawn,
        DomainEvent::Comment(CommentEvent::Removed(_)) => Change::CommentRemoved,
        _ => return None,
    })
}

pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    upkeep: Upkeep,
) -> sqlx::Result<Vec<String>> {
    let lists = Lists(upkeep);
    let mut touched: Vec<Uuid> = Vec::new();
    for run in runs(events, change_of) {
        let rows = run.rows;
        let changed: Vec<Uuid> = match run.kind {
            Change::AuthorRegistered => {
                sqlx::query!(
                    "INSERT INTO resource_authors (user_id, username)
                     SELECT user_id, username
                     FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, username text)
                     ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username",
                    rows
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            // The name goes; every view of the author's resources changes.
            Change::AuthorDeleted => {
                sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       ), renamed AS (
                           UPDATE resource_authors a SET username = NULL
                           FROM b WHERE a.user_id = b.user_id
                       )
                       UPDATE resources r SET author_username = NULL
                       FROM b WHERE r.author_id = b.user_id
                       RETURNING r.id"#,
                    rows
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Submitted => submit(tx, rows, lists).await?,
            Change::NewsItemPublished => publish_news_items(tx, rows, lists).await?,
            Change::Edited => {
                let ids = sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                               resource_id uuid, title text, description text, tags text[],
                               kind text, at timestamptz, ord bigint)
                       ), latest AS (
                           SELECT DISTINCT ON (resource_id) * FROM b ORDER BY resource_id, ord DESC
                       ), edits AS (
                           SELECT resource_id, count(*)::int AS n FROM b GROUP BY resource_id
                       )
                       UPDATE resources r
                       SET title = l.title, description = l.description, tags = l.tags,
                           kind = l.kind, updated_at = l.at, version = r.version + e.n,
                           search = resource_search(l.title, l.tags, l.description)
                       FROM latest l JOIN edits e USING (resource_id)
                       WHERE r.id = l.resource_id
                       RETURNING r.id"#,
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                lists.sync(tx, &ids).await?;
                ids
            }
            Change::Retracted => {
                let ids = sqlx::query_scalar!(
                    "UPDATE resources r
                     SET retracted = true, updated_at = b.at, version = r.version + 1
                     FROM jsonb_to_recordset($1::jsonb) AS b(resource_id uuid, at timestamptz)
                     WHERE r.id = b.resource_id AND NOT r.retracted
                     RETURNING r.id",
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                lists.sync(tx, &ids).await?;
                ids
            }
            Change::Hidden | Change::Restored => {
                let hidden = run.kind == Change::Hidden;
                let action = if hidden {
                    "resource.hidden"
                } else {
                    "resource.restored"
                };
                let ids = sqlx::query_scalar!(
                    "WITH b AS (
                         SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                             resource_id uuid, reason text, moderator_id uuid, at timestamptz,
                             ord bigint)
                     ), logged AS (
                         INSERT INTO moderation_log
                             (position, action, subject_kind, subject_id, reason, moderator_id, at)
                         SELECT ord, $3, 'resource', resource_id, reason, moderator_id, at FROM b
                         ON CONFLICT (position) DO NOTHING
                     )
                     UPDATE resources r
                     SET hidden = $2, updated_at = b.at, version = r.version + 1
                     FROM b
                     WHERE r.id = b.resource_id AND r.hidden <> $2
                     RETURNING r.id",
                    rows,
                    hidden,
                    action
                )
                .fetch_all(&mut *tx)
                .await?;
                lists.sync(tx, &ids).await?;
                ids
            }
            Change::VoteCast => {
                let ids = sqlx::query_scalar!(
                    "WITH counted AS (
                         INSERT INTO resource_votes (resource_id, user_id, voted_at)
                         SELECT resource_id, user_id, at
                         FROM jsonb_to_recordset($1::jsonb) AS b(
                             resource_id uuid, user_id uuid, at timestamptz)
                         ON CONFLICT DO NOTHING
                         RETURNING resource_id
                     )
                     UPDATE resources r SET votes = r.votes + c.n
                     FROM (SELECT resource_id, count(*)::int AS n FROM counted GROUP BY resource_id) c
                     WHERE r.id = c.resource_id
                     RETURNING r.id",
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                lists.rescore(tx, &ids).await?;
                ids
            }
            Change::VoteWithdrawn => {
                let ids = sqlx::query_scalar!(
                    "WITH uncounted AS (
                         DELETE FROM resource_votes v
                         USING jsonb_to_recordset($1::jsonb) AS b(resource_id uuid, user_id uuid)
                         WHERE v.resource_id = b.resource_id AND v.user_id = b.user_id
                         RETURNING v.resource_id
                     )
                     UPDATE resources r SET votes = r.votes - c.n
                     FROM (SELECT resource_id, count(*)::int AS n FROM uncounted GROUP BY resource_id) c
                     WHERE r.id = c.resource_id
                     RETURNING r.id",
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                lists.rescore(tx, &ids).await?;
                ids
            }
            Change::CommentRemoved => {
                sqlx::query!(
                    "INSERT INTO moderation_log
                         (position, action, subject_kind, subject_id, reason, moderator_id, at)
                     SELECT ord, 'comment.removed', 'comment', comment_id, reason, moderator_id, at
                     FROM jsonb_to_recordset($1::jsonb) AS b(
                         comment_id uuid, reason text, moderator_id uuid, at timestamptz, ord bigint)
                     ON CONFLICT (position) DO NOTHING",
                    rows
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
        };
        touched.extend(changed);
    }
    Ok(touched.iter().map(ToString::to_string).collect())
}

/// Inserts new resources; `ord` (the stream position) becomes `listed_at`,
/// the newest-first keyset key.
async fn submit(tx: &mut PgConnection, rows: Value, lists: Lists) -> sqlx::Result<Vec<Uuid>> {
    let ids = sqlx::query_scalar!(
        r#"INSERT INTO resources (id, listed_at, title, url, canonical_url, description, tags,
                                  kind, author_id, author_username, created_at, updated_at,
                                  version, search)
           SELECT b.resource_id, b.ord, b.title, b.url, b.canonical_url, b.description, b.tags,
                  b.kind, b.author_id, a.username, b.submitted_at, b.submitted_at, 1,
                  resource_search(b.title, b.tags, b.description)
           FROM jsonb_to_recordset($1::jsonb) AS b(
               resource_id uuid, ord bigint, title text, url text, canonical_url text,
               description text, tags text[], kind text, author_id uuid,
               submitted_at timestamptz)
           LEFT JOIN resource_authors a ON a.user_id = b.author_id
           ON CONFLICT (id) DO NOTHING
           RETURNING id"#,
        rows
    )
    .fetch_all(&mut *tx)
    .await?;
    // New resources are in no list yet.
    lists.add(tx, &ids).await?;
    Ok(ids)
}

/// Inserts news items: resources with a source and no author (the nil
/// uuid), dated by when the feed says they were published.
async fn publish_news_items(
    tx: &mut PgConnection,
    rows: Value,
    lists: Lists,
) -> sqlx::Result<Vec<Uuid>> {
    let ids = sqlx::query_scalar!(
        r#"INSERT INTO resources (id, listed_at, title, url, canonical_url, description, tags,
                                  kind, author_id, source_id, source_title, created_at,
                                  updated_at, version, search)
           SELECT resource_id, ord, title, url, canonical_url, summary, tags, 'article',
                  '00000000-0000-0000-0000-000000000000', source_id, source_title,
                  published_at, found_at, 1, resource_search(title, tags, summary)
           FROM jsonb_to_recordset($1::jsonb) AS b(
               resource_id uuid, ord bigint, title text, url text, canonical_url text,
               summary text, tags text[], source_id uuid, source_title text,
               published_at timestamptz, found_at timestamptz)
           ON CONFLICT (id) DO NOTHING
           RETURNING id"#,
        rows
    )
    .fetch_all(&mut *tx)
    .await?;
    lists.add(tx, &ids).await?;
    Ok(ids)
}

/// Makes the list rows of `ids` match their resources: a row in every list
/// a resource belongs to while everyone may see it, none otherwise; and
/// keeps the tag counts in step.
async fn sync_listings(tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let removed = sqlx::query_scalar!(
        "DELETE FROM resource_listings WHERE resource_id = ANY($1) RETURNING scope",
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    add_listings(tx, ids, &removed).await
}

/// Adds the list rows of `ids` (the visible ones) and moves the tag counts
/// by what was added and what the caller `removed`.
async fn add_listings(tx: &mut PgConnection, ids: &[Uuid], removed: &[String]) -> sqlx::Result<()> {
    if ids.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let added = sqlx::query_scalar!(
        r#"INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
           SELECT s.scope, r.listed_at, r.id, r.votes, resource_hot(r.votes, r.created_at)
           FROM resources r
           CROSS JOIN LATERAL resource_scopes(r.source_id, r.tags, r.kind, r.author_id) AS s (scope)
           WHERE r.id = ANY($1) AND NOT r.hidden AND NOT r.retracted
           RETURNING scope AS "scope!""#,
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut deltas: BTreeMap<&str, i32> = BTreeMap::new();
    for scope in removed {
        if let Some(tag) = scope.strip_prefix("tag:") {
            *deltas.entry(tag).or_default() -= 1;
        }
    }
    for scope in &added {
        if let Some(tag) = scope.strip_prefix("tag:") {
            *deltas.entry(tag).or_default() += 1;
        }
    }
    deltas.retain(|_, delta| *delta != 0);
    if deltas.is_empty() {
        return Ok(());
    }
    let tags: Vec<String> = deltas.keys().map(|t| (*t).to_owned()).collect();
    let changes: Vec<i32> = deltas.into_values().collect();
    sqlx::query!(
        // The inserted row must pass the CHECK (>= 0) even when it turns
        // into an update, so it carries the delta clamped, and the update
        // takes the delta itself.
        "WITH d AS (SELECT * FROM UNNEST($1::text[], $2::int[]) AS d (tag, delta))
         INSERT INTO tag_counts (tag, resources)
         SELECT tag, greatest(delta, 0) FROM d
         ON CONFLICT (tag) DO UPDATE
         SET resources = tag_counts.resources + (SELECT delta FROM d WHERE d.tag = EXCLUDED.tag)",
        &tags,
        &changes
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The list rows and tag counts, kept per batch or left to [`derive`].
#[derive(Debug, Clone, Copy)]
struct Lists(Upkeep);

impl Lists {
    async fn add(self, tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
        match self.0 {
            Upkeep::Incremental => add_listings(tx, ids, &[]).await,
            Upkeep::Deferred => Ok(()),
        }
    }

    async fn sync(self, tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
        match self.0 {
            Upkeep::Incremental => sync_listings(tx, ids).await,
            Upkeep::Deferred => Ok(()),
        }
    }

    async fn rescore(self, tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
        match self.0 {
            Upkeep::Incremental => rescore_listings(tx, ids).await,
            Upkeep::Deferred => Ok(()),
        }
    }
}

/// Every list row and tag count, from the resources as they stand.
pub(super) async fn derive(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("TRUNCATE resource_listings, tag_counts")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
         SELECT s.scope, r.listed_at, r.id, r.votes, resource_hot(r.votes, r.created_at)
         FROM resources r
         CROSS JOIN LATERAL resource_scopes(r.source_id, r.tags, r.kind, r.author_id) AS s (scope)
         WHERE NOT r.hidden AND NOT r.retracted"
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO tag_counts (tag, resources)
         SELECT t, count(*) FROM resources r, unnest(r.tags) AS t
         WHERE r.source_id IS NULL AND NOT r.hidden AND NOT r.retracted
         GROUP BY t"
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Carries new vote counts into the list rows (top and hot sort by them).
async fn rescore_listings(tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE resource_listings l
         SET votes = r.votes, hot = resource_hot(r.votes, r.created_at)
         FROM resources r
         WHERE l.resource_id = r.id AND r.id = ANY($1)",
        ids
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
