//! Projection "sites": each resource's site (the host of its URL,
//! `domain::site::Site`) and whether everyone may see it, and how many
//! visible resources each site has, for `GET /v1/domains/{domain}` and its
//! feed. The items themselves are read from the resources view.

use resourcify_domain::DomainEvent;
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::site::Site;
use sqlx::PgConnection;

use super::{Positioned, position, runs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A member's submission or a news item.
    Arrived,
    Hidden,
    Restored,
    Retracted,
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
        _ => None,
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
            Change::Hidden | Change::Restored => {
                let hidden = run.kind == Change::Hidden;
                sqlx::query_scalar!(
                    r#"WITH changed AS (
                           UPDATE site_resources s SET hidden = $2
                           FROM jsonb_to_recordset($1::jsonb) AS b(resource_id uuid)
                           WHERE s.resource_id = b.resource_id AND s.hidden <> $2
                           RETURNING s.site, s.retracted
                       ), counted AS (
                           INSERT INTO site_counts (site, resources)
                           SELECT site, (CASE WHEN $2 THEN -count(*) ELSE count(*) END)::int
                           FROM changed WHERE NOT retracted GROUP BY site
                           ON CONFLICT (site)
                           DO UPDATE SET resources = site_counts.resources + EXCLUDED.resources
                       )
                       SELECT DISTINCT site AS "site!" FROM changed"#,
                    run.rows(),
                    hidden
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Retracted => {
                sqlx::query_scalar!(
                    r#"WITH changed AS (
                           UPDATE site_resources s SET retracted = true
                           FROM jsonb_to_recordset($1::jsonb) AS b(resource_id uuid)
                           WHERE s.resource_id = b.resource_id AND NOT s.retracted
                           RETURNING s.site, s.hidden
                       ), counted AS (
                           INSERT INTO site_counts (site, resources)
                           SELECT site, (-count(*))::int FROM changed WHERE NOT hidden
                           GROUP BY site
                           ON CONFLICT (site)
                           DO UPDATE SET resources = site_counts.resources + EXCLUDED.resources
                       )
                       SELECT DISTINCT site AS "site!" FROM changed"#,
                    run.rows()
                )
                .fetch_all(&mut *tx)
                .await?
            }
        };
        touched.extend(sites);
    }
    Ok(touched)
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
