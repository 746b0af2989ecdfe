//! Projection "history": every revision of every member's resource (the
//! submission, then each edit) with who made it, for
//! `GET /v1/resources/{id}/history`. An edit's changes are worked out when
//! it is read, against the revision before it (`domain::resource::revision`),
//! so each event is one plain insert.

use resourcify_domain::DomainEvent;
use resourcify_domain::resource::{ResourceEvent, ResourceSubmitted};
use resourcify_domain::user::UserEvent;
use sqlx::PgConnection;

use super::{Positioned, joined_tags, runs, submissions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    EditorRegistered,
    /// The member was erased: their name leaves the history (their edits
    /// stay, nameless: a resource's texts are the public catalogue's, see
    /// docs/personal-data.md).
    EditorErased,
    Submitted,
    Edited,
}

fn change_of(event: &DomainEvent) -> Option<Change> {
    Some(match event {
        DomainEvent::User(UserEvent::Registered(_)) => Change::EditorRegistered,
        DomainEvent::User(UserEvent::Deleted(_)) => Change::EditorErased,
        DomainEvent::Resource(ResourceEvent::Submitted(_)) => Change::Submitted,
        DomainEvent::Resource(ResourceEvent::Edited(_)) => Change::Edited,
        _ => return None,
    })
}

/// Applies a batch; answers the notice's keys: the resources whose history
/// an edit lengthened, and erased members whose names left it. A
/// submission starts a history but changes none that anyone read.
pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut touched = Vec::new();
    for run in runs(events, change_of) {
        match run.kind {
            Change::EditorRegistered => {
                sqlx::query!(
                    "INSERT INTO revision_editors (user_id, username)
                     SELECT user_id, username
                     FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, username text)
                     ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username",
                    run.rows()
                )
                .execute(&mut *tx)
                .await?;
            }
            Change::EditorErased => {
                let erased = sqlx::query_scalar!(
                    r#"DELETE FROM revision_editors e
                       USING jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       WHERE e.user_id = b.user_id
                       RETURNING e.user_id::text AS "user_id!""#,
                    run.rows()
                )
                .fetch_all(&mut *tx)
                .await?;
                touched.extend(erased);
            }
            Change::Submitted => submit(tx, &run.events).await?,
            Change::Edited => {
                let edited = sqlx::query_scalar!(
                    r#"INSERT INTO resource_revisions
                           (resource_id, position, edit, editor_id, at, title, description,
                            tags, kind)
                       SELECT resource_id, ord, true, edited_by, at, title, description, tags,
                              kind
                       FROM jsonb_to_recordset($1::jsonb) AS b(
                           resource_id uuid, ord bigint, edited_by uuid, at timestamptz,
                           title text, description text, tags text[], kind text)
                       ON CONFLICT (resource_id, position) DO NOTHING
                       RETURNING resource_id::text AS "resource_id!""#,
                    run.rows()
                )
                .fetch_all(&mut *tx)
                .await?;
                touched.extend(edited);
            }
        }
    }
    Ok(touched)
}

/// The first revision of each submitted resource: the most frequent event
/// here, so one typed array per column, `UNNEST`ed.
async fn submit(tx: &mut PgConnection, events: &[Positioned<'_>]) -> sqlx::Result<()> {
    let submitted = submissions(events);
    let column = |f: fn(&ResourceSubmitted) -> String| -> Vec<String> {
        submitted.iter().map(|(_, s)| f(s)).collect()
    };
    let ids: Vec<_> = submitted.iter().map(|(_, s)| s.resource_id).collect();
    let ords: Vec<i64> = submitted.iter().map(|(p, _)| *p).collect();
    let authors: Vec<_> = submitted.iter().map(|(_, s)| s.author_id).collect();
    let times: Vec<_> = submitted.iter().map(|(_, s)| s.submitted_at).collect();
    sqlx::query!(
        "INSERT INTO resource_revisions
             (resource_id, position, edit, editor_id, at, title, description, tags, kind)
         SELECT id, ord, false, author_id, at, title, description,
                string_to_array(tags, chr(31)), kind
         FROM UNNEST($1::uuid[], $2::bigint[], $3::uuid[], $4::timestamptz[], $5::text[],
                     $6::text[], $7::text[], $8::text[])
              AS u (id, ord, author_id, at, title, description, tags, kind)
         ON CONFLICT (resource_id, position) DO NOTHING",
        &ids,
        &ords,
        &authors,
        &times,
        &column(|s| s.title.clone()),
        &column(|s| s.description.clone()),
        &column(|s| joined_tags(&s.tags)),
        &column(|s| s.kind.as_str().to_owned()),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
