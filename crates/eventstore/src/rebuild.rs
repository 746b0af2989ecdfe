//! Rebuilding the reservation buckets from the log, for an operator who
//! lost them (a restore of the stream without its buckets, say): every name
//! a live aggregate holds is claimed again for its owner.

use std::collections::HashMap;

use futures::StreamExt;
use resourcify_domain::DomainEvent;
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::user::UserEvent;
use uuid::Uuid;

use crate::{EventStore, EventStoreError, Reservation, ReservationBook, Reserved};

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Names the log says are held, each now held by its owner in the bucket.
    pub held: usize,
    /// Names the bucket gives to another owner than the log does: left as
    /// they are, for the operator to look at.
    pub conflicts: Vec<(Reservation, Uuid, Uuid)>,
    /// Events that could not be read, and were passed over.
    pub unreadable: usize,
}

/// The names held at the end of the log, and by whom.
#[derive(Debug, Default)]
struct HeldNames(HashMap<(Reservation, String), Uuid>);

impl HeldNames {
    fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::User(UserEvent::Registered(e)) => {
                self.hold(Reservation::Username, &e.username, e.user_id);
                self.hold(Reservation::Email, &e.email, e.user_id);
            }
            DomainEvent::User(UserEvent::Deleted(e)) => {
                self.release(&[Reservation::Username, Reservation::Email], e.user_id);
            }
            DomainEvent::Resource(ResourceEvent::Submitted(e)) => {
                self.hold(Reservation::ResourceUrl, &e.canonical_url, e.resource_id);
            }
            DomainEvent::Resource(ResourceEvent::NewsItemPublished(e)) => {
                self.hold(Reservation::NewsItemUrl, &e.canonical_url, e.resource_id);
            }
            DomainEvent::Resource(ResourceEvent::Retracted(e)) => {
                self.release(&[Reservation::ResourceUrl], e.resource_id);
            }
            _ => {}
        }
    }

    fn hold(&mut self, kind: Reservation, name: &str, owner: Uuid) {
        self.0.insert((kind, name.to_owned()), owner);
    }

    fn release(&mut self, kinds: &[Reservation], owner: Uuid) {
        self.0
            .retain(|(kind, _), held_by| !(kinds.contains(kind) && *held_by == owner));
    }
}

/// Reads the log up to its head and claims every name still held.
pub async fn rebuild_reservations(
    store: &EventStore,
    book: &ReservationBook,
) -> Result<RebuildReport, EventStoreError> {
    let head = store.head().await?;
    let mut names = HeldNames::default();
    let mut report = RebuildReport::default();
    if head > 0 {
        let mut feed = store.feed_after(0).await?;
        while let Some(raw) = feed.next().await {
            let raw = raw?;
            match raw.decode() {
                Ok(recorded) => names.apply(&recorded.event),
                Err(error) => {
                    tracing::warn!(%error, position = raw.position, "passed over");
                    report.unreadable += 1;
                }
            }
            if raw.position >= head {
                break;
            }
        }
    }
    for ((kind, name), owner) in names.0 {
        match book.reserve(kind, &name, owner).await? {
            Reserved::Held => report.held += 1,
            Reserved::TakenBy(holder) => report.conflicts.push((kind, owner, holder)),
        }
    }
    Ok(report)
}
