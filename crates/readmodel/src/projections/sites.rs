//! Projection "sites": each resource's site (the host of its URL,
//! `domain::site::Site`) and whether everyone may see it (not hidden, held
//! for review or retracted), and how many visible resources each site has, for `GET /v1/domains/{domain}` and its
//! feed. The items themselves are read from the resources view.

use resourcify_domain::DomainEvent;
use resourcify_domain::flag::{FlagEvent, FlagTarget};
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::site::Site;
use sqlx::PgConnection;

use super::{Positioned, position, runs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A member's submission or a news item.
    Arrived,
    /// Hidden by a moderator, which also ends a hold (as in `resources`).
    Hidden,
    Restored,
    Retracted,
    /// Held for review by its flags (ADR 21).
    Held,
    /// Kept by a moderator: its flags dismissed, its hold ended.
    Kept,
}

fn change_of(event: &DomainEvent) -> Option<Change> {
    match event {
        DomainEvent::Resource(e) => Some(match e {
            ResourceEvent::Submitted(_) | ResourceEvent::NewsItemPublished(_) => Change::Arrived,
            ResourceEvent::Hidden(_) => Change::Hidden,
            ResourceEvent::Restored(_) => Change::Restored,
            ResourceEvent::Retracted(_) => Change::Retracted,
            ResourceEvent::Edited(_) => return None,
        }),
        DomainEvent::Flag(FlagEvent::Raised(e)) if e.held && e.target == FlagTarget::Resource => {
            Some(Change::Held)
        }
        DomainEvent::Flag(FlagEvent::Dismissed(e)) if e.target == FlagTarget::Resource => {
            Some(Change::Kept)
        }
        _ => None,
    }
}

/// What a run of changes sets on its resources' rows; `None` leaves a
/// column as it is.
#[derive(Debug, Clone, Copy)]
struct Standing {
    hidden: Option<bool>,
    held: Option<bool>,
    retracted: Option<bool>,
}

impl Change {
    fn standing(self) -> Standing {
        let (hidden, held, retracted) = match self {
            Self::Arrived => (None, None, None),
            Self::Hidden => (Some(true), Some(false), None),
            Self::Restored => (Some(false), None, None),
            Self::Retracted => (None, None, Some(true)),
            Self::Held => (None, Some(true), None),
            Self::Kept => (None, Some(false), None),
        };
        Standing {
            hidden,
            held,
            retracted,
        }
    }
}

/// Applies a batch; answers the notice's keys: the sites whose pages
/// changed. Each run is one statement that also moves the sites' counts by
/// what it changed, so no count is ever recomputed from the rows.
pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut touched = Vec::new();
    for run in runs(events, change_of) {
        let sites = match run.kind {
            Change::Arrived => arrive(tx, &run.events).await?,
            _ => set_standing(tx, run.kind.standing(), run.rows()).await?,
        };
        touched.extend(sites);
    }
    Ok(touched)
}

/// Sets `standing` on the rows of the resources `rows` name, and moves each
/// site's count by the resources that became visible or stopped being so
/// (visible: neither hidden, held nor retracted). A hiding or restoring
/// that changes nothing ends no hold, as in `resources`. Answers the sites
/// whose visible resources changed.
async fn set_standing(
    tx: &mut PgConnection,
    standing: Standing,
    rows: serde_json::Value,
) -> sqlx::Result<Vec<String>> {
    // `o` is the row as it was before this statement: what it counted as.
    sqlx::query_scalar!(
        r#"WITH b AS (
               SELECT DISTINCT resource_id
               FROM jsonb_to_recordset($1::jsonb) AS b(resource_id uuid)
           ), changed AS (
               UPDATE site_resources s
               SET hidden = coalesce($2, s.hidden), held = coalesce($3, s.held),
                   retracted = coalesce($4, s.retracted)
               FROM b, site_resources o
               WHERE s.resource_id = b.resource_id AND o.resource_id = s.resource_id
                 AND ($2::boolean IS NULL OR s.hidden <> $2)
                 AND (s.hidden, s.held, s.retracted)
                     IS DISTINCT FROM (coalesce($2, s.hidden), coalesce($3, s.held),
                                       coalesce($4, s.retracted))
               RETURNING s.site, NOT (o.hidden OR o.held OR o.retracted) AS was_visible,
                         NOT (s.hidden OR s.held OR s.retracted) AS visible
           ), counted AS (
               INSERT INTO site_counts (site, resources)
               SELECT site, sum(visible::int - was_visible::int)::int
               FROM changed WHERE visible <> was_visible GROUP BY site
               ON CONFLICT (site)
               DO UPDATE SET resources = site_counts.resources + EXCLUDED.resources
           )
           SELECT DISTINCT site AS "site!" FROM changed WHERE visible <> was_visible"#,
        rows,
        standing.hidden,
        standing.held,
        standing.retracted
    )
    .fetch_all(&mut *tx)
    .await
}

/// New resources, each under its site: the most frequent event here, so
/// one typed array per column, `UNNEST`ed.
async fn arrive(tx: &mut PgConnection, events: &[Positioned<'_>]) -> sqlx::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(events.len());
    let mut sites = Vec::with_capacity(events.len());
    let mut ords = Vec::with_capacity(events.len());
    for e in events {
        let (id, url) = match e.event {
            DomainEvent::Resource(ResourceEvent::Submitted(s)) => (s.resource_id, &s.url),
            DomainEvent::Resource(ResourceEvent::NewsItemPublished(n)) => (n.resource_id, &n.url),
            _ => continue,
        };
        // Every resource URL has a host (`ResourceUrl`); one that had none
        // would belong to no site.
        let Some(site) = Site::of_url(url) else {
            continue;
        };
        ids.push(id);
        sites.push(site.into_string());
        ords.push(position(e));
    }
    sqlx::query_scalar!(
        r#"WITH inserted AS (
               INSERT INTO site_resources (resource_id, site, listed_at)
               SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[])
               ON CONFLICT (resource_id) DO NOTHING
               RETURNING site
           ), counted AS (
               INSERT INTO site_counts (site, resources)
               SELECT site, count(*)::int FROM inserted GROUP BY site
               ON CONFLICT (site)
               DO UPDATE SET resources = site_counts.resources + EXCLUDED.resources
           )
           SELECT DISTINCT site AS "site!" FROM inserted"#,
        &ids,
        &sites,
        &ords
    )
    .fetch_all(&mut *tx)
    .await
}
