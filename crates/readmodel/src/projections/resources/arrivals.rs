//! New resources: members' submissions and news items. The most frequent
//! events of the projection, so each run binds one typed array per column
//! and `UNNEST`s them (see [`super::super::Run::rows`] for why).

use resourcify_domain::DomainEvent;
use resourcify_domain::resource::{NewsItemPublished, ResourceEvent, ResourceSubmitted};
use sqlx::PgConnection;
use uuid::Uuid;

use super::lists::DerivedRows;
use crate::projections::{Positioned, joined_tags, position, submissions};

/// Inserts new resources; the stream position becomes `listed_at`, the
/// newest-first keyset key. The author's name is looked up per resource,
/// by a subquery: as a join, Postgres read every author to hash them once a
/// batch held a couple of thousand submissions (ADR 11).
pub(super) async fn submit(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    derived: DerivedRows,
) -> sqlx::Result<Vec<Uuid>> {
    let submitted = submissions(events);
    let column = |f: fn(&ResourceSubmitted) -> String| -> Vec<String> {
        submitted.iter().map(|(_, s)| f(s)).collect()
    };
    let ids: Vec<Uuid> = submitted.iter().map(|(_, s)| s.resource_id).collect();
    let ords: Vec<i64> = submitted.iter().map(|(p, _)| *p).collect();
    let authors: Vec<Uuid> = submitted.iter().map(|(_, s)| s.author_id).collect();
    let times: Vec<_> = submitted.iter().map(|(_, s)| s.submitted_at).collect();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO resources (id, listed_at, title, url, canonical_url, description, tags,
                                  kind, author_id, author_username, created_at, updated_at,
                                  version, search)
           SELECT b.id, b.ord, b.title, b.url, b.canonical_url, b.description, b.tags,
                  b.kind, b.author_id,
                  (SELECT a.username FROM resource_authors a WHERE a.user_id = b.author_id),
                  b.at, b.at, 1, resource_search(b.title, b.tags, b.description)
           FROM (
               SELECT id, ord, title, url, canonical_url, description,
                      string_to_array(tags, chr(31)) AS tags, kind, author_id, at
               FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::text[], $8::text[], $9::uuid[], $10::timestamptz[])
                    AS u (id, ord, title, url, canonical_url, description, tags, kind,
                          author_id, at)
           ) AS b
           ON CONFLICT (id) DO NOTHING
           RETURNING id"#,
        &ids,
        &ords,
        &column(|s| s.title.clone()),
        &column(|s| s.url.clone()),
        &column(|s| s.canonical_url.clone()),
        &column(|s| s.description.clone()),
        &column(|s| joined_tags(&s.tags)),
        &column(|s| s.kind.as_str().to_owned()),
        &authors,
        &times,
    )
    .fetch_all(&mut *tx)
    .await?;
    // New resources are in no list yet.
    derived.add(tx, &inserted).await?;
    Ok(inserted)
}

/// Inserts news items: resources with a source and no author (the nil
/// uuid), dated by when the feed says they were published.
pub(super) async fn publish_news_items(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    derived: DerivedRows,
) -> sqlx::Result<Vec<Uuid>> {
    let published: Vec<(i64, &NewsItemPublished)> = events
        .iter()
        .filter_map(|e| match e.event {
            DomainEvent::Resource(ResourceEvent::NewsItemPublished(n)) => Some((position(e), n)),
            _ => None,
        })
        .collect();
    let column = |f: fn(&NewsItemPublished) -> String| -> Vec<String> {
        published.iter().map(|(_, n)| f(n)).collect()
    };
    let ids: Vec<Uuid> = published.iter().map(|(_, n)| n.resource_id).collect();
    let ords: Vec<i64> = published.iter().map(|(p, _)| *p).collect();
    let sources: Vec<Uuid> = published.iter().map(|(_, n)| n.source_id).collect();
    let published_at: Vec<_> = published.iter().map(|(_, n)| n.published_at).collect();
    let found_at: Vec<_> = published.iter().map(|(_, n)| n.found_at).collect();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO resources (id, listed_at, title, url, canonical_url, description, tags,
                                  kind, author_id, source_id, source_title, created_at,
                                  updated_at, version, search)
           SELECT id, ord, title, url, canonical_url, summary, tags, 'article',
                  '00000000-0000-0000-0000-000000000000', source_id, source_title,
                  published_at, found_at, 1, resource_search(title, tags, summary)
           FROM (
               SELECT id, ord, title, url, canonical_url, summary,
                      string_to_array(tags, chr(31)) AS tags, source_id, source_title,
                      published_at, found_at
               FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::text[], $8::uuid[], $9::text[],
                           $10::timestamptz[], $11::timestamptz[])
                    AS u (id, ord, title, url, canonical_url, summary, tags, source_id,
                          source_title, published_at, found_at)
           ) AS b
           ON CONFLICT (id) DO NOTHING
           RETURNING id"#,
        &ids,
        &ords,
        &column(|n| n.title.clone()),
        &column(|n| n.url.clone()),
        &column(|n| n.canonical_url.clone()),
        &column(|n| n.summary.clone()),
        &column(|n| joined_tags(&n.tags)),
        &sources,
        &column(|n| n.source_title.clone()),
        &published_at,
        &found_at,
    )
    .fetch_all(&mut *tx)
    .await?;
    derived.add(tx, &inserted).await?;
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use crate::projections::joined_tags;

    #[test]
    fn no_tags_join_to_the_empty_string_that_splits_into_no_tags() {
        // string_to_array('', chr(31)) is '{}' in Postgres.
        assert_eq!(joined_tags(&[]), "");
        assert_eq!(joined_tags(&["rust".into(), "c++".into()]), "rust\u{1f}c++");
    }
}
