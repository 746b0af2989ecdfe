//! Projection "resources": the resource views and the authors' public names.

use resourcify_domain::DomainEvent;
use serde_json::json;
use sqlx::PgConnection;

use super::Positioned;

pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut author_ids = Vec::new();
    let mut author_names = Vec::new();
    let mut submitted = Vec::new();
    for e in events {
        match e.event {
            DomainEvent::UserRegistered(r) => {
                author_ids.push(r.user_id);
                author_names.push(r.username.clone());
            }
            DomainEvent::ResourceSubmitted(s) => submitted.push(json!({
                "id": s.resource_id,
                "listed_at": e.position,
                "title": s.title,
                "url": s.url,
                "description": s.description,
                "tags": s.tags,
                "kind": s.kind,
                "author_id": s.author_id,
                "created_at": s.submitted_at,
            })),
        }
    }
    if !author_ids.is_empty() {
        sqlx::query!(
            "INSERT INTO resource_authors (user_id, username)
             SELECT * FROM UNNEST($1::uuid[], $2::text[])
             ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username",
            &author_ids,
            &author_names
        )
        .execute(&mut *tx)
        .await?;
    }
    if submitted.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for the whole batch: the resources, then a row per tag of
    // each resource that was actually inserted.
    let touched = sqlx::query_scalar!(
        r#"WITH batch AS (
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                   id uuid, listed_at bigint, title text, url text, description text,
                   tags text[], kind text, author_id uuid, created_at timestamptz)
           ), inserted AS (
               INSERT INTO resources (id, listed_at, title, url, description, tags, kind,
                                      author_id, created_at, updated_at, version)
               SELECT id, listed_at, title, url, description, tags, kind,
                      author_id, created_at, created_at, 1
               FROM batch
               ON CONFLICT (id) DO NOTHING
               RETURNING id, listed_at, tags
           ), tagged AS (
               INSERT INTO resource_tags (tag, listed_at, resource_id)
               SELECT unnest(tags), listed_at, id FROM inserted
               ON CONFLICT DO NOTHING
           )
           SELECT id AS "id!" FROM inserted"#,
        serde_json::Value::Array(submitted)
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(touched.iter().map(ToString::to_string).collect())
}
