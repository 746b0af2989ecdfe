//! Unique names across aggregates, claimed with a JetStream key-value `create`.
//!
//! A read model cannot guard uniqueness: it lags the log. A KV `create` fails
//! atomically when the key exists, so two concurrent sign-ups with one
//! username cannot both succeed, whatever the projections have seen.

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use futures::TryStreamExt;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{EventStore, EventStoreError};

/// A kind of unique name, each in its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reservation {
    Username,
    Email,
    /// A resource's canonical URL.
    ResourceUrl,
    /// A news item's canonical URL: one item per link, whichever feed
    /// (or how many feeds) carry it.
    NewsItemUrl,
}

impl Reservation {
    pub const ALL: [Self; 4] = [
        Self::Username,
        Self::Email,
        Self::ResourceUrl,
        Self::NewsItemUrl,
    ];

    /// The bucket's name within the namespace.
    pub fn bucket(self) -> &'static str {
        match self {
            Self::Username => "usernames",
            Self::Email => "emails",
            Self::ResourceUrl => "resource-urls",
            Self::NewsItemUrl => "news-item-urls",
        }
    }

    /// KV keys allow only `[-/_=.a-zA-Z0-9]`, and subjects have a length
    /// limit: URLs are stored by their SHA-256, and usernames and e-mail
    /// addresses (a member's, erased with them) only as a keyed hash, whose
    /// key is kept with the members' keys: the bucket alone allows no guess,
    /// and a released name leaves no trace of itself (a key-value delete
    /// keeps its key).
    fn key(self, name: &str, name_key: &[u8]) -> String {
        match self {
            Self::Username | Self::Email => {
                let mut mac = Hmac::<Sha256>::new_from_slice(name_key).expect("HMAC takes any key");
                mac.update(name.as_bytes());
                format!("{KEYED_PREFIX}{}", hex(&mac.finalize().into_bytes()))
            }
            Self::ResourceUrl | Self::NewsItemUrl => hex(&Sha256::digest(name.as_bytes())),
        }
    }
}

/// Marks a username or e-mail key as a keyed hash; before it, those keys
/// were the name itself, hex-encoded.
const KEYED_PREFIX: &str = "k1-";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// The name is now held by the owner asked for (also when it already was).
    Held,
    /// Someone else holds the name.
    TakenBy(Uuid),
}

/// The buckets that hold every reservation of a namespace.
#[derive(Clone)]
pub struct ReservationBook {
    usernames: kv::Store,
    emails: kv::Store,
    resource_urls: kv::Store,
    news_item_urls: kv::Store,
    name_key: Vec<u8>,
}

impl std::fmt::Debug for ReservationBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReservationBook").finish_non_exhaustive()
    }
}

impl ReservationBook {
    /// Opens the namespace's buckets, creating them if missing, and moves
    /// any e-mail reservation still held under the address itself to its
    /// keyed hash.
    pub async fn open(store: &EventStore) -> Result<Self, EventStoreError> {
        let js = store.jetstream();
        let namespace = store.namespace();
        let replicas = store.replicas();
        let bucket = |kind: Reservation| namespace.bucket(kind.bucket());
        let book = Self {
            usernames: open_bucket(js, &bucket(Reservation::Username), replicas).await?,
            emails: open_bucket(js, &bucket(Reservation::Email), replicas).await?,
            resource_urls: open_bucket(js, &bucket(Reservation::ResourceUrl), replicas).await?,
            news_item_urls: open_bucket(js, &bucket(Reservation::NewsItemUrl), replicas).await?,
            name_key: store.member_keys().name_hash_key().await?,
        };
        book.hash_names_held_in_clear(Reservation::Username).await?;
        book.hash_names_held_in_clear(Reservation::Email).await?;
        Ok(book)
    }

    /// Rewrites each username or e-mail reservation made before keyed
    /// hashes under its keyed hash, then purges the one in clear from the
    /// bucket's stream, marker and all. Safe to run on several nodes at
    /// once: the create of the keyed one happens once.
    async fn hash_names_held_in_clear(&self, kind: Reservation) -> Result<(), EventStoreError> {
        let store = self.store(kind);
        let keys: Vec<String> = store
            .keys()
            .await
            .map_err(EventStoreError::unavailable)?
            .try_collect()
            .await
            .map_err(EventStoreError::unavailable)?;
        for legacy in keys.iter().filter(|k| !k.starts_with(KEYED_PREFIX)) {
            let Some(address) = unhex(legacy) else {
                continue;
            };
            let Some(entry) = store
                .entry(legacy.clone())
                .await
                .map_err(EventStoreError::unavailable)?
                .filter(|e| e.operation == kv::Operation::Put)
            else {
                continue;
            };
            let keyed = kind.key(&address, &self.name_key);
            match store.create(&keyed, entry.value.clone()).await {
                Ok(_) => {}
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
                Err(e) => return Err(EventStoreError::unavailable(e)),
            }
            store
                .stream
                .purge()
                .filter(format!("{}{legacy}", store.prefix))
                .await
                .map_err(EventStoreError::unavailable)?;
        }
        Ok(())
    }

    fn store(&self, kind: Reservation) -> &kv::Store {
        match kind {
            Reservation::Username => &self.usernames,
            Reservation::Email => &self.emails,
            Reservation::ResourceUrl => &self.resource_urls,
            Reservation::NewsItemUrl => &self.news_item_urls,
        }
    }

    /// Claims `name` for `owner`. Claiming a name one already holds succeeds,
    /// so a retried command goes through.
    pub async fn reserve(
        &self,
        kind: Reservation,
        name: &str,
        owner: Uuid,
    ) -> Result<Reserved, EventStoreError> {
        let store = self.store(kind);
        let key = kind.key(name, &self.name_key);
        match store.create(&key, Bytes::from(owner.to_string())).await {
            Ok(_) => Ok(Reserved::Held),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                match self.holder(kind, name).await? {
                    Some(holder) if holder == owner => Ok(Reserved::Held),
                    Some(holder) => Ok(Reserved::TakenBy(holder)),
                    // Released between our create and our read: try once more.
                    None => match store.create(&key, Bytes::from(owner.to_string())).await {
                        Ok(_) => Ok(Reserved::Held),
                        Err(e) => Err(EventStoreError::unavailable(e)),
                    },
                }
            }
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// Who holds `name`, if anyone.
    pub async fn holder(
        &self,
        kind: Reservation,
        name: &str,
    ) -> Result<Option<Uuid>, EventStoreError> {
        let value = self
            .store(kind)
            .get(kind.key(name, &self.name_key))
            .await
            .map_err(EventStoreError::unavailable)?;
        Ok(value.and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    /// Gives up a claim, but only the owner's own: a late release must never
    /// free a name that someone else has claimed since.
    pub async fn release(
        &self,
        kind: Reservation,
        name: &str,
        owner: Uuid,
    ) -> Result<(), EventStoreError> {
        let store = self.store(kind);
        let key = kind.key(name, &self.name_key);
        let Some(entry) = store
            .entry(key.clone())
            .await
            .map_err(EventStoreError::unavailable)?
        else {
            return Ok(());
        };
        if entry.operation != kv::Operation::Put || entry.value != owner.to_string().as_bytes() {
            return Ok(());
        }
        store
            .delete_expect_revision(&key, Some(entry.revision))
            .await
            .map_err(EventStoreError::unavailable)
    }
}

/// Opens a bucket, creating its backing stream first if needed.
///
/// The stream is created by hand, with the KV conventions (`KV_<bucket>`,
/// `$KV.<bucket>.>`, rollups, direct get), rather than by
/// `create_key_value`: that call first reads the account info, whose reply
/// from 2.9 servers async-nats cannot parse.
pub(crate) async fn open_bucket(
    js: &jetstream::Context,
    bucket: &str,
    replicas: usize,
) -> Result<kv::Store, EventStoreError> {
    open_bucket_with_max_age(js, bucket, replicas, std::time::Duration::ZERO).await
}

/// [`open_bucket`] whose entries expire `max_age` after they were written
/// (zero: never).
pub(crate) async fn open_bucket_with_max_age(
    js: &jetstream::Context,
    bucket: &str,
    replicas: usize,
    max_age: std::time::Duration,
) -> Result<kv::Store, EventStoreError> {
    crate::create::get_or_create_stream(
        js,
        stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            discard: stream::DiscardPolicy::New,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: replicas,
            storage: stream::StorageType::File,
            max_age,
            ..Default::default()
        },
    )
    .await?;
    js.get_key_value(bucket)
        .await
        .map_err(EventStoreError::unavailable)
}

fn unhex(text: &str) -> Option<String> {
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::{Reservation, unhex};

    #[test]
    fn keys_are_hex_and_kv_safe() {
        let username = Reservation::Username.key("ada_1", b"k");
        assert!(username.starts_with("k1-") && !username.contains("6164615f31"));
        assert_eq!(unhex("6164615f31").as_deref(), Some("ada_1"));
        let email = Reservation::Email.key("a+b@c.d", b"one key");
        assert!(email.starts_with("k1-") && email.len() == 67, "{email}");
        assert!(!email.contains("612b6240632e64"), "no address in clear");
        assert_ne!(email, Reservation::Email.key("a+b@c.d", b"another key"));
        let url = Reservation::ResourceUrl
            .key(&format!("https://example.org/{}", "x".repeat(2000)), b"k");
        assert_eq!(url.len(), 64);
        assert!(url.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
