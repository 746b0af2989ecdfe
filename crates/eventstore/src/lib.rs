//! The only code that knows JetStream: subjects, the CloudEvents envelope,
//! appends with optimistic concurrency, aggregate loads, the ordered feed the
//! projectors read, and the key-value reservations that keep names unique.

mod envelope;
mod error;
mod namespace;
mod reservations;
mod store;

pub use envelope::{RawEvent, RecordedEvent};
pub use error::EventStoreError;
pub use namespace::Namespace;
pub use reservations::{Reservation, ReservationBook, Reserved};
pub use store::{Appended, EventFeed, EventStore, EventStoreSettings, Loaded, NewEvent};
