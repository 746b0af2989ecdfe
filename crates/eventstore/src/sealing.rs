//! Crypto-shredding: each member's personal fields are sealed in the log
//! with a key of their own, and erasing the member destroys the key.
//!
//! The keys live in a JetStream key-value bucket (`member-keys`, history 1),
//! beside the log and never in it, so writes keep working while Postgres is
//! down. A key is made on a member's first sealed event. Purging it leaves
//! nothing of it in the bucket, and from then on every copy of the log,
//! backups included, opens that member's sealed fields to placeholders.
//!
//! Sealing: XChaCha20-Poly1305 with a random 192-bit nonce per event, the
//! associated data binding the ciphertext to its event type and owner, so
//! sealed fields cannot be moved to another member's or another event.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use resourcify_domain::EventType;
use resourcify_domain::personal::{PersonalFields, SEALED_FIELD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{EventStoreError, Namespace};

/// How long a node keeps a member's key in memory. A key erased on another
/// node stops opening events here after this at most (sooner where this
/// node sees the member's deletion in the log).
const KEY_CACHE_TTL: Duration = Duration::from_secs(60);

/// The key, in the same bucket, of the secret that keys the hashes of
/// usernames and e-mail addresses in the reservation buckets.
const NAME_HASH_KEY: &str = "name-hash-key";

/// The keys of every member of a namespace.
#[derive(Clone)]
pub struct MemberKeys {
    bucket: kv::Store,
    cache: moka::sync::Cache<Uuid, Arc<Key>>,
}

impl std::fmt::Debug for MemberKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberKeys([redacted])")
    }
}

/// The sealed personal fields as stored: base64 nonce and ciphertext.
#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    ciphertext: String,
}

impl MemberKeys {
    pub const BUCKET: &'static str = "member-keys";

    /// Opens the namespace's key bucket, creating it if missing.
    pub async fn open(
        js: &jetstream::Context,
        namespace: &Namespace,
        replicas: usize,
    ) -> Result<Self, EventStoreError> {
        let bucket =
            crate::reservations::open_bucket(js, &namespace.bucket(Self::BUCKET), replicas).await?;
        Ok(Self {
            bucket,
            cache: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(KEY_CACHE_TTL)
                .build(),
        })
    }

    fn bucket_key(owner: Uuid) -> String {
        owner.to_string()
    }

    /// The member's key, made now if they have none yet.
    async fn key_for_sealing(&self, owner: Uuid) -> Result<Arc<Key>, EventStoreError> {
        if let Some(key) = self.key_for_opening(owner).await? {
            return Ok(key);
        }
        let fresh = XChaCha20Poly1305::generate_key(&mut OsRng);
        match self
            .bucket
            .create(Self::bucket_key(owner), Bytes::copy_from_slice(&fresh))
            .await
        {
            Ok(_) => {
                let key = Arc::new(fresh);
                self.cache.insert(owner, key.clone());
                Ok(key)
            }
            // Another node made it first: use theirs.
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                self.key_for_opening(owner).await?.ok_or_else(|| {
                    EventStoreError::unavailable("a member key vanished as it was made")
                })
            }
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// The member's key, or `None` once it has been erased (or never existed).
    async fn key_for_opening(&self, owner: Uuid) -> Result<Option<Arc<Key>>, EventStoreError> {
        if let Some(key) = self.cache.get(&owner) {
            return Ok(Some(key));
        }
        let stored = self
            .bucket
            .get(Self::bucket_key(owner))
            .await
            .map_err(EventStoreError::unavailable)?;
        let Some(bytes) = stored else {
            return Ok(None);
        };
        if bytes.len() != 32 {
            return Err(EventStoreError::unavailable(format!(
                "the key of member {owner} is {} bytes, not 32",
                bytes.len()
            )));
        }
        let key: [u8; 32] = bytes[..].try_into().expect("checked to be 32 bytes");
        let key = Arc::new(Key::from(key));
        self.cache.insert(owner, key.clone());
        Ok(Some(key))
    }

    /// Destroys the member's key: every sealed field of theirs, in every
    /// copy of the log, is unreadable from now on. A purge (a roll-up)
    /// leaves no earlier value in the bucket's stream.
    pub async fn erase(&self, owner: Uuid) -> Result<(), EventStoreError> {
        self.cache.invalidate(&owner);
        self.bucket
            .purge(Self::bucket_key(owner))
            .await
            .map_err(EventStoreError::unavailable)
    }

    /// Whether the member still has a key (for tests and operators).
    pub async fn has_key(&self, owner: Uuid) -> Result<bool, EventStoreError> {
        Ok(self
            .bucket
            .get(Self::bucket_key(owner))
            .await
            .map_err(EventStoreError::unavailable)?
            .is_some())
    }

    /// Drops the member's key from this node's memory, on seeing their
    /// deletion in the log.
    pub(crate) fn forget(&self, owner: Uuid) {
        self.cache.invalidate(&owner);
    }

    /// The secret that keys the hashes of reserved names, made once per namespace.
    pub(crate) async fn name_hash_key(&self) -> Result<Vec<u8>, EventStoreError> {
        let read = || async {
            self.bucket
                .get(NAME_HASH_KEY)
                .await
                .map_err(EventStoreError::unavailable)
        };
        if let Some(key) = read().await? {
            return Ok(key.to_vec());
        }
        let fresh = XChaCha20Poly1305::generate_key(&mut OsRng);
        match self
            .bucket
            .create(NAME_HASH_KEY, Bytes::copy_from_slice(&fresh))
            .await
        {
            Ok(_) => Ok(fresh.to_vec()),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => read()
                .await?
                .map(|k| k.to_vec())
                .ok_or_else(|| EventStoreError::unavailable("the name hash key vanished")),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// The stored form of a plain payload: sealed under its owner's key if
    /// the type carries personal data, as it is otherwise.
    pub(crate) async fn seal(
        &self,
        event_type: EventType,
        payload: Vec<u8>,
    ) -> Result<(EventType, Vec<u8>), EventStoreError> {
        let Some(entry) = PersonalFields::of_plain(event_type) else {
            return Ok((event_type, payload));
        };
        let split = entry.split(&payload).map_err(|e| {
            EventStoreError::unavailable(format!("cannot seal {event_type:?}: {e}"))
        })?;
        let key = self.key_for_sealing(split.owner).await?;
        let plaintext = serde_json::to_vec(&split.personal).expect("a JSON map serialises");
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(entry.sealed, split.owner);
        let ciphertext = XChaCha20Poly1305::new(&key)
            .encrypt(
                &nonce,
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any message that fits in memory");
        let sealed = Sealed {
            nonce: BASE64.encode(nonce),
            ciphertext: BASE64.encode(ciphertext),
        };
        let mut stored = split.clear;
        stored.insert(
            SEALED_FIELD.to_owned(),
            serde_json::to_value(sealed).expect("strings serialise"),
        );
        Ok((
            entry.sealed,
            serde_json::to_vec(&stored).expect("a JSON map serialises"),
        ))
    }

    /// The plain type and payload of a stored event, if it is sealed: its
    /// personal fields opened, or erased placeholders if its owner's key is
    /// gone. `Ok(None)`: nothing to open. `Err(Ok(reason))`: the payload does
    /// not open (tampered, or not what its type says): a dead letter.
    pub(crate) async fn open_sealed(
        &self,
        ce_type: Option<&str>,
        payload: &[u8],
    ) -> Result<Option<Result<(EventType, Bytes), String>>, EventStoreError> {
        let Some(entry) = ce_type
            .and_then(EventType::from_ce_type)
            .and_then(PersonalFields::of_sealed)
        else {
            return Ok(None);
        };
        let parsed = serde_json::from_slice::<Map<String, Value>>(payload)
            .map_err(|e| e.to_string())
            .and_then(|clear| {
                let owner = entry.owner_of(&clear).map_err(|e| e.to_string())?;
                Ok((owner, clear))
            });
        let (owner, clear) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => return Ok(Some(Err(reason))),
        };
        let personal = match self.key_for_opening(owner).await? {
            None => entry.erased(owner),
            Some(key) => match unseal(entry, owner, &clear, &key) {
                Ok(personal) => personal,
                Err(reason) => return Ok(Some(Err(reason))),
            },
        };
        Ok(Some(Ok((
            entry.plain,
            Bytes::from(entry.join(clear, personal)),
        ))))
    }
}

/// What the AEAD authenticates besides the ciphertext.
fn associated_data(sealed: EventType, owner: Uuid) -> Vec<u8> {
    format!("{}\0{owner}", sealed.ce_type()).into_bytes()
}

fn unseal(
    entry: &PersonalFields,
    owner: Uuid,
    clear: &Map<String, Value>,
    key: &Key,
) -> Result<Map<String, Value>, String> {
    let sealed: Sealed = clear
        .get(SEALED_FIELD)
        .cloned()
        .ok_or_else(|| format!("no `{SEALED_FIELD}` field"))
        .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))?;
    let nonce = BASE64
        .decode(&sealed.nonce)
        .map_err(|e| e.to_string())
        .and_then(|n| {
            <[u8; 24]>::try_from(n.as_slice())
                .map(XNonce::from)
                .map_err(|_| "the nonce is not 24 bytes".to_owned())
        })?;
    let ciphertext = BASE64
        .decode(&sealed.ciphertext)
        .map_err(|e| e.to_string())?;
    let aad = associated_data(entry.sealed, owner);
    let plaintext = XChaCha20Poly1305::new(key)
        .decrypt(
            &nonce,
            Payload {
                msg: &ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| "the sealed fields fail authentication".to_owned())?;
    serde_json::from_slice(&plaintext).map_err(|e| e.to_string())
}
