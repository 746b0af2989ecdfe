//! A dataset the size of years of use, appended straight to the event log
//! (the events the command side would write), for the projectors to build
//! the views from.

use std::time::Instant;

use futures::StreamExt;
use resourcify_eventstore::EventStore;
use resourcify_testkit::SyntheticHistory;
use uuid::Uuid;

/// Appends `count` submissions by `author`, many in flight at once; returns
/// their ids and the rate.
pub async fn submissions(
    store: &EventStore,
    author: Uuid,
    count: usize,
) -> anyhow::Result<(Vec<Uuid>, f64)> {
    let started = Instant::now();
    let history = SyntheticHistory {
        description: "A resource that exists to be read many times.",
        tags: |i| vec![format!("t{}", i % 50), "seeded".into()],
        ..SyntheticHistory::new(0, count, 0, "seeded")
    };
    let history = &history;
    let appends = futures::stream::iter(0..count).map(|i| {
        let id = Uuid::now_v7();
        let new = history.submission(i, id, author);
        async move { store.append("resource", id, 0, new).await.map(|_| id) }
    });
    let mut appended = appends.buffer_unordered(256);
    let mut ids = Vec::with_capacity(count);
    while let Some(id) = appended.next().await {
        ids.push(id?);
    }
    Ok((ids, count as f64 / started.elapsed().as_secs_f64()))
}
