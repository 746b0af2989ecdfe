//! Short leases on named pieces of work, so that of several nodes only one
//! does a given piece at a time (polling one news source, say).
//!
//! A lease is a key in a JetStream key-value bucket whose entries expire
//! after the lease's lifetime: `create` succeeds for one holder only, and a
//! holder that dies without releasing frees the key when it expires. A lease
//! is an optimisation, not a guarantee of exclusive effect: whoever holds one
//! still writes through optimistic concurrency, so an expired lease can cost
//! a duplicate fetch, never a duplicate event.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;

use crate::reservations::open_bucket_with_max_age;
use crate::{EventStoreError, Namespace};

/// One bucket of leases.
#[derive(Clone)]
pub struct Leases {
    store: kv::Store,
    holder: String,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// A lease held; give it back with [`Leases::release`].
#[derive(Debug)]
pub struct Lease {
    key: String,
    revision: u64,
}

impl Leases {
    pub const NEWS_SOURCES: &'static str = "news-source-leases";
    /// Which node's projectors are the active ones.
    pub const PROJECTORS: &'static str = "projector-leases";

    /// Opens `bucket` of the namespace, whose leases last `lifetime`;
    /// `holder` names this process in the entries, for operators.
    pub async fn open(
        js: &jetstream::Context,
        namespace: &Namespace,
        bucket: &str,
        lifetime: Duration,
        replicas: usize,
        holder: impl Into<String>,
    ) -> Result<Self, EventStoreError> {
        let store =
            open_bucket_with_max_age(js, &namespace.bucket(bucket), replicas, lifetime).await?;
        Ok(Self {
            store,
            holder: holder.into(),
        })
    }

    /// Takes the lease on `key`, unless someone else holds it.
    pub async fn try_acquire(&self, key: &str) -> Result<Option<Lease>, EventStoreError> {
        match self
            .store
            .create(key, Bytes::from(self.holder.clone()))
            .await
        {
            Ok(revision) => Ok(Some(Lease {
                key: key.to_owned(),
                revision,
            })),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// Keeps a lease for another lifetime. `None`: it was lost (it expired
    /// and someone else took it, or it is gone); stop the work it covers.
    pub async fn renew(&self, lease: &Lease) -> Result<Option<Lease>, EventStoreError> {
        match self
            .store
            .update(&lease.key, Bytes::from(self.holder.clone()), lease.revision)
            .await
        {
            Ok(revision) => Ok(Some(Lease {
                key: lease.key.clone(),
                revision,
            })),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// Who holds the lease on `key` now, as they named themselves.
    pub async fn holder(&self, key: &str) -> Result<Option<String>, EventStoreError> {
        let entry = self
            .store
            .get(key)
            .await
            .map_err(EventStoreError::unavailable)?;
        Ok(entry.map(|value| String::from_utf8_lossy(&value).into_owned()))
    }

    /// This process's name in the leases it holds.
    pub fn holder_name(&self) -> &str {
        &self.holder
    }

    /// Gives a lease back early. Only the revision it was taken at is
    /// deleted: a lease that expired and was taken by another stays theirs.
    pub async fn release(&self, lease: Lease) -> Result<(), EventStoreError> {
        match self
            .store
            .delete_expect_revision(&lease.key, Some(lease.revision))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(()),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }
}
