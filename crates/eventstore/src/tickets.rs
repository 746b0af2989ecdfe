//! Stream tickets: short-lived, single-use passes that open one member's
//! notification stream from a browser's `EventSource`, which cannot send an
//! `Authorization` header (ADR 22). Kept in a JetStream key-value bucket
//! whose entries expire, so that any API node redeems a ticket another
//! issued, and a ticket is taken once however many nodes race for it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::reservations::open_bucket_with_max_age;
use crate::{EventStore, EventStoreError};

/// What a ticket's entry holds: whose stream it opens, and when it was
/// issued (the bucket drops it a little after it expires; the time here
/// makes the refusal exact).
#[derive(Debug, Serialize, Deserialize)]
struct Ticket {
    user_id: Uuid,
    issued_ms: u64,
}

/// The `notification-stream-tickets` bucket of a namespace.
#[derive(Clone)]
pub struct StreamTickets {
    store: kv::Store,
}

impl std::fmt::Debug for StreamTickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTickets").finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

impl StreamTickets {
    pub const BUCKET: &'static str = "notification-stream-tickets";
    /// How long a ticket opens its stream: long enough for a page to open
    /// an `EventSource`, too short to be worth stealing from a log.
    pub const LIFETIME: Duration = Duration::from_secs(60);

    pub async fn open(store: &EventStore) -> Result<Self, EventStoreError> {
        let bucket = store.namespace().bucket(Self::BUCKET);
        let store =
            open_bucket_with_max_age(store.jetstream(), &bucket, store.replicas(), Self::LIFETIME)
                .await?;
        Ok(Self { store })
    }

    /// Only a hash of the ticket is stored: the bucket (its backups, its
    /// replicas) holds nothing that opens a stream.
    fn entry_key(ticket: &str) -> String {
        hex(&Sha256::digest(ticket.as_bytes()))
    }

    /// Records `ticket` as opening `user_id`'s stream.
    pub async fn issue(&self, ticket: &str, user_id: Uuid) -> Result<(), EventStoreError> {
        let entry = Ticket {
            user_id,
            issued_ms: now_ms(),
        };
        let value = serde_json::to_vec(&entry).expect("a ticket serialises");
        self.store
            .create(Self::entry_key(ticket), Bytes::from(value))
            .await
            .map_err(EventStoreError::unavailable)?;
        Ok(())
    }

    /// Takes `ticket`: the member whose stream it opens, once; `None` when
    /// it was never issued, is taken already, or has expired.
    pub async fn redeem(&self, ticket: &str) -> Result<Option<Uuid>, EventStoreError> {
        let key = Self::entry_key(ticket);
        let Some(entry) = self
            .store
            .entry(key.clone())
            .await
            .map_err(EventStoreError::unavailable)?
            .filter(|e| e.operation == kv::Operation::Put)
        else {
            return Ok(None);
        };
        // Of two nodes redeeming at once, one deletes this revision; the
        // other is refused.
        if self
            .store
            .delete_expect_revision(&key, Some(entry.revision))
            .await
            .is_err()
        {
            return Ok(None);
        }
        let Ok(ticket) = serde_json::from_slice::<Ticket>(&entry.value) else {
            return Ok(None);
        };
        let lifetime = u64::try_from(Self::LIFETIME.as_millis()).unwrap_or(u64::MAX);
        let fresh = now_ms().saturating_sub(ticket.issued_ms) <= lifetime;
        Ok(fresh.then_some(ticket.user_id))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
