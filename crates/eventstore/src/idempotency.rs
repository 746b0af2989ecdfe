//! What each `Idempotency-Key` was first used for, and what it answered.
//!
//! JetStream's `Nats-Msg-Id` drops a repeated append only within the
//! stream's duplicate window. A key's record lasts a day: the fingerprint of
//! the request it came with (the same key with another request is refused)
//! and, once the command is done, its outcome, so a retry answers as the
//! first request did without deciding anything again.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::reservations::open_bucket_with_max_age;
use crate::{EventStoreError, Namespace};

/// How long a key is remembered.
pub const IDEMPOTENCY_KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What a finished command answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedOutcome {
    /// The id of what the command created or acted on.
    pub id: Option<Uuid>,
    /// Where its event landed (or the aggregate's position, if it changed nothing).
    pub position: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    fingerprint: String,
    outcome: Option<RecordedOutcome>,
}

/// The state of a key when a request arrives with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new and now belongs to this request.
    First,
    /// The same request came before; `Some` once it finished.
    Repeat(Option<RecordedOutcome>),
    /// The key was used with a different request.
    Mismatch,
}

/// The `idempotency-keys` bucket of a namespace.
#[derive(Clone)]
pub struct IdempotencyKeys {
    store: kv::Store,
}

impl std::fmt::Debug for IdempotencyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyKeys").finish_non_exhaustive()
    }
}

impl IdempotencyKeys {
    pub const BUCKET: &'static str = "idempotency-keys";

    pub async fn open(
        js: &jetstream::Context,
        namespace: &Namespace,
        replicas: usize,
    ) -> Result<Self, EventStoreError> {
        let bucket = namespace.bucket(Self::BUCKET);
        let store =
            open_bucket_with_max_age(js, &bucket, replicas, IDEMPOTENCY_KEY_LIFETIME).await?;
        Ok(Self { store })
    }

    /// KV keys allow few characters and clients choose theirs: store a hash.
    fn entry_key(key: &str) -> String {
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Claims `key` for a request with `fingerprint`, or says how it was used.
    pub async fn claim(&self, key: &str, fingerprint: &str) -> Result<KeyClaim, EventStoreError> {
        let entry_key = Self::entry_key(key);
        let record = Record {
            fingerprint: fingerprint.to_owned(),
            outcome: None,
        };
        let value = Bytes::from(serde_json::to_vec(&record).expect("records serialise"));
        match self.store.create(&entry_key, value.clone()).await {
            Ok(_) => return Ok(KeyClaim::First),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(EventStoreError::unavailable(e)),
        }
        let stored = self
            .store
            .get(&entry_key)
            .await
            .map_err(EventStoreError::unavailable)?;
        let Some(stored) = stored else {
            // Released between the two calls: the key is free again.
            return match self.store.create(&entry_key, value).await {
                Ok(_) => Ok(KeyClaim::First),
                Err(e) => Err(EventStoreError::unavailable(e)),
            };
        };
        match serde_json::from_slice::<Record>(&stored) {
            Ok(found) if found.fingerprint == fingerprint => Ok(KeyClaim::Repeat(found.outcome)),
            _ => Ok(KeyClaim::Mismatch),
        }
    }

    /// Records what the request answered, for its repeats.
    pub async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        outcome: RecordedOutcome,
    ) -> Result<(), EventStoreError> {
        let record = Record {
            fingerprint: fingerprint.to_owned(),
            outcome: Some(outcome),
        };
        let value = Bytes::from(serde_json::to_vec(&record).expect("records serialise"));
        self.store
            .put(Self::entry_key(key), value)
            .await
            .map_err(EventStoreError::unavailable)?;
        Ok(())
    }

    /// Frees a key whose request failed, so the client may send it again,
    /// unless a repeat has finished the request meanwhile.
    pub async fn release(&self, key: &str, fingerprint: &str) -> Result<(), EventStoreError> {
        let entry_key = Self::entry_key(key);
        let Some(entry) = self
            .store
            .entry(entry_key.clone())
            .await
            .map_err(EventStoreError::unavailable)?
        else {
            return Ok(());
        };
        let unfinished_and_ours = entry.operation == kv::Operation::Put
            && serde_json::from_slice::<Record>(&entry.value)
                .is_ok_and(|r| r.fingerprint == fingerprint && r.outcome.is_none());
        if !unfinished_and_ours {
            return Ok(());
        }
        self.store
            .delete_expect_revision(&entry_key, Some(entry.revision))
            .await
            .map_err(EventStoreError::unavailable)
    }
}
