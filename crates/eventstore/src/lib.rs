//! The only code that knows JetStream: subjects, the CloudEvents envelope,
//! appends with optimistic concurrency, aggregate loads, the ordered feed the
//! projectors read, the key-value reservations that keep names unique, the
//! leases that keep two nodes from doing one piece of work at once, and the
//! backup and restore of all of it.

mod backup;
mod create;
mod envelope;
mod error;
mod idempotency;
mod leases;
mod metric_families;
mod namespace;
mod rebuild;
mod reservations;
mod sealing;
mod snapshot;
mod store;
mod tickets;

pub use backup::{
    Manifest, RestoreOptions, StreamCopy, StreamRestored, back_up, read_manifest, restore,
};
pub use envelope::{RawEvent, RecordedEvent};
pub use error::EventStoreError;
pub use idempotency::{IDEMPOTENCY_KEY_LIFETIME, IdempotencyKeys, KeyClaim, RecordedOutcome};
pub use leases::{Lease, Leases};
pub use metric_families::{METRIC_FAMILIES, describe_metrics};
pub use namespace::Namespace;
pub use rebuild::{RebuildReport, rebuild_reservations};
pub use reservations::{Reservation, ReservationBook, Reserved};
pub use sealing::MemberKeys;
pub use store::{Appended, EventFeed, EventStore, EventStoreSettings, Loaded, NewEvent};
pub use tickets::StreamTickets;

/// Every key-value bucket a namespace owns, by its name within the namespace.
pub fn bucket_names() -> impl Iterator<Item = &'static str> {
    Reservation::ALL
        .into_iter()
        .map(Reservation::bucket)
        .chain([
            IdempotencyKeys::BUCKET,
            Leases::NEWS_SOURCES,
            Leases::PROJECTORS,
            MemberKeys::BUCKET,
            StreamTickets::BUCKET,
        ])
}
