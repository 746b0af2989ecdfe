//! A dataset the size of years of use, appended straight to the event log
//! (the events the command side would write), for the projectors to build
//! the views from.

use std::time::Instant;

use chrono::Utc;
use futures::StreamExt;
use resourcify_domain::DomainEvent;
use resourcify_domain::resource::{ResourceEvent, ResourceKind, ResourceSubmitted};
use resourcify_eventstore::{EventStore, NewEvent};
use uuid::Uuid;

/// Appends `count` submissions by `author`, many in flight at once; returns
/// their ids and the rate.
pub async fn submissions(
    store: &EventStore,
    author: Uuid,
    count: usize,
) -> anyhow::Result<(Vec<Uuid>, f64)> {
    let started = Instant::now();
    let kinds = ResourceKind::ALL;
    let appends = futures::stream::iter(0..count).map(|i| {
        let id = Uuid::now_v7();
        let url = format!("https://example.org/seeded/{i}");
        let event = ResourceSubmitted {
            resource_id: id,
            author_id: author,
            title: format!("Seeded resource number {i}"),
            canonical_url: url.clone(),
            url,
            description: "A resource that exists to be read many times.".into(),
            tags: vec![format!("t{}", i % 50), "seeded".into()],
            kind: kinds[i % kinds.len()],
            submitted_at: Utc::now(),
        };
        let new = NewEvent {
            event: DomainEvent::Resource(ResourceEvent::Submitted(event)),
            msg_id: id.to_string(),
            request_id: None,
            time: Utc::now(),
        };
        async move { store.append("resource", id, 0, new).await.map(|_| id) }
    });
    let mut appended = appends.buffer_unordered(256);
    let mut ids = Vec::with_capacity(count);
    while let Some(id) = appended.next().await {
        ids.push(id?);
    }
    Ok((ids, count as f64 / started.elapsed().as_secs_f64()))
}
