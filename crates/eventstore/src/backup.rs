//! A backup of everything a namespace keeps in NATS, and its restore: the
//! event stream and every key-value bucket, each as JetStream's own
//! snapshot (`snapshot.rs`), in one directory with a manifest.
//!
//! The directory holds, per stream, `<stream>.snapshot` (the snapshot as
//! the server sent it) and `<stream>.json` (its config and state, which a
//! restore hands back), and `manifest.json`, written last: a directory
//! without one is an unfinished backup. The views in PostgreSQL are not
//! part of it: they are rebuilt from the log.
//!
//! The event stream is copied first, then the buckets: a member's key is
//! made before their first sealed event and a name is reserved before the
//! event that holds it, so every event in the copy finds its key and its
//! names in the buckets' copies. A name released by a write that landed
//! between the two copies stays reserved; `admin rebuild-reservations`
//! reports such names after a restore.

use std::path::{Path, PathBuf};

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::snapshot::{self, Described};
use crate::{EventStoreError, Namespace};

/// What the manifest's layout is; a restore refuses any other.
const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";

/// What a backup holds, as `manifest.json` says it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub namespace: String,
    pub created_at: DateTime<Utc>,
    /// The event stream first, then the buckets that existed.
    pub streams: Vec<StreamCopy>,
    /// Buckets the namespace may have that did not exist (a role that never
    /// ran here, say): nothing to copy.
    pub absent: Vec<String>,
}

/// One stream in a backup, with its state when the copy began.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamCopy {
    pub stream: String,
    /// `events`, or the bucket's name within the namespace.
    pub holds: String,
    pub messages: u64,
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// Messages removed from within the stream (erasures): the gaps.
    pub deleted: u64,
    /// The snapshot file's size and digest.
    pub bytes: u64,
    pub sha256: String,
}

/// How a restore treats what is already there.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Replace streams that hold messages (refused otherwise).
    pub replace: bool,
    /// Restore with this many replicas instead of the backup's.
    pub replicas: Option<usize>,
}

/// One stream restored: its state as the server reports it now.
#[derive(Debug, Clone)]
pub struct StreamRestored {
    pub stream: String,
    pub messages: u64,
    pub last_sequence: u64,
    /// It existed (empty, or replaced) and was deleted first.
    pub replaced: bool,
}

/// The streams a namespace may have, with what each holds.
fn streams_of(namespace: &Namespace) -> Vec<(String, String)> {
    std::iter::once((namespace.stream_name(), "events".to_owned()))
        .chain(crate::bucket_names().map(|bucket| {
            (
                format!("KV_{}", namespace.bucket(bucket)),
                bucket.to_owned(),
            )
        }))
        .collect()
}

fn io(what: &str, path: &Path, error: std::io::Error) -> EventStoreError {
    EventStoreError::Backup(format!("{what} {}: {error}", path.display()))
}

fn number(state: &Value, field: &str) -> u64 {
    state[field].as_u64().unwrap_or(0)
}

/// Backs up the namespace's stream and buckets into `dir`, which must be
/// new or empty.
pub async fn back_up(
    client: &async_nats::Client,
    namespace: &Namespace,
    dir: &Path,
) -> Result<Manifest, EventStoreError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io("cannot create", dir, e))?;
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| io("cannot read", dir, e))?;
    if entries
        .next_entry()
        .await
        .map_err(|e| io("cannot read", dir, e))?
        .is_some()
    {
        return Err(EventStoreError::Backup(format!(
            "{} is not empty; a backup goes into a new or empty directory",
            dir.display()
        )));
    }
    let mut manifest = Manifest {
        format: FORMAT,
        namespace: namespace.as_str().to_owned(),
        created_at: Utc::now(),
        streams: Vec::new(),
        absent: Vec::new(),
    };
    for (stream, holds) in streams_of(namespace) {
        let path = dir.join(format!("{stream}.snapshot"));
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| io("cannot create", &path, e))?;
        let Some((described, written)) = snapshot::snapshot(client, &stream, &mut file).await?
        else {
            drop(file);
            let _ = tokio::fs::remove_file(&path).await;
            manifest.absent.push(holds);
            continue;
        };
        file.sync_all()
            .await
            .map_err(|e| io("cannot write", &path, e))?;
        let described_path = dir.join(format!("{stream}.json"));
        let described_json = serde_json::json!({
            "config": described.config,
            "state": described.state,
        });
        write_durably(&described_path, &pretty(&described_json)).await?;
        let state = &described.state;
        manifest.streams.push(StreamCopy {
            stream,
            holds,
            messages: number(state, "messages"),
            first_sequence: number(state, "first_seq"),
            last_sequence: number(state, "last_seq"),
            deleted: number(state, "num_deleted"),
            bytes: written.bytes,
            sha256: written.sha256,
        });
    }
    write_durably(&dir.join(MANIFEST), &pretty(&manifest)).await?;
    Ok(manifest)
}

fn pretty(value: &impl Serialize) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).expect("plain data serialises");
    text.push(b'\n');
    text
}

/// Writes `path` through a temporary file, synced, and a rename: a file
/// is there whole or not at all.
async fn write_durably(path: &Path, contents: &[u8]) -> Result<(), EventStoreError> {
    let partial = path.with_extension("partial");
    let written = async {
        let mut file = tokio::fs::File::create(&partial).await?;
        file.write_all(contents).await?;
        file.sync_all().await
    };
    written.await.map_err(|e| io("cannot write", &partial, e))?;
    tokio::fs::rename(&partial, path)
        .await
        .map_err(|e| io("cannot write", path, e))
}

fn is_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(e)
            if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// Reads a backup's manifest.
pub async fn read_manifest(dir: &Path) -> Result<Manifest, EventStoreError> {
    let path = dir.join(MANIFEST);
    let text = tokio::fs::read(&path)
        .await
        .map_err(|e| io("cannot read", &path, e))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        EventStoreError::Backup(format!("{} is not a manifest: {e}", path.display()))
    })?;
    if manifest.format != FORMAT {
        return Err(EventStoreError::Backup(format!(
            "{} is of format {}; this version reads format {FORMAT}",
            path.display(),
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Restores a backup of `namespace` from `dir`. Every file is checked
/// against the manifest before anything is changed; streams that hold
/// messages are refused unless `options.replace`.
pub async fn restore(
    client: &async_nats::Client,
    namespace: &Namespace,
    dir: &Path,
    options: RestoreOptions,
) -> Result<Vec<StreamRestored>, EventStoreError> {
    let manifest = read_manifest(dir).await?;
    if manifest.namespace != namespace.as_str() {
        return Err(EventStoreError::Backup(format!(
            "the backup is of namespace {:?}, not {:?}: its subjects and names \
             carry it, so it restores into that namespace only",
            manifest.namespace,
            namespace.as_str()
        )));
    }
    let known: Vec<String> = streams_of(namespace).into_iter().map(|(s, _)| s).collect();
    for copy in &manifest.streams {
        if !known.contains(&copy.stream) {
            return Err(EventStoreError::Backup(format!(
                "the backup holds {}, which this version does not know",
                copy.stream
            )));
        }
        check_file(dir, copy).await?;
    }
    let js = jetstream::new(client.clone());
    let mut existing = Vec::new();
    let mut refused = Vec::new();
    for copy in &manifest.streams {
        match js.get_stream(&copy.stream).await {
            Ok(stream) => {
                let messages = stream.cached_info().state.messages;
                if messages > 0 && !options.replace {
                    refused.push(format!("{} ({messages} messages)", copy.stream));
                }
                existing.push(copy.stream.clone());
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(EventStoreError::unavailable(e)),
        }
    }
    if !refused.is_empty() {
        return Err(EventStoreError::Backup(format!(
            "these streams hold messages already: {}; restore with --force to \
             replace them (stop every node first)",
            refused.join(", ")
        )));
    }
    // The buckets first, the log last: no reader sees an event before the
    // key that opens it.
    let mut order: Vec<&StreamCopy> = manifest.streams.iter().collect();
    order.sort_by_key(|copy| copy.holds == "events");
    let mut restored = Vec::new();
    for copy in order {
        let replaced = existing.contains(&copy.stream);
        if replaced {
            js.delete_stream(&copy.stream)
                .await
                .map_err(EventStoreError::unavailable)?;
        }
        let mut described = read_described(dir, copy).await?;
        if let Some(replicas) = options.replicas {
            described.config["num_replicas"] = replicas.into();
        }
        let path = snapshot_path(dir, copy);
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| io("cannot read", &path, e))?;
        let state = snapshot::restore(client, &copy.stream, &described, &mut file).await?;
        let (messages, last_sequence) = (number(&state, "messages"), number(&state, "last_seq"));
        if (messages, last_sequence) != (copy.messages, copy.last_sequence) {
            return Err(EventStoreError::Backup(format!(
                "{} came back with {messages} messages up to {last_sequence}, \
                 not the {} up to {} the backup holds",
                copy.stream, copy.messages, copy.last_sequence
            )));
        }
        restored.push(StreamRestored {
            stream: copy.stream.clone(),
            messages,
            last_sequence,
            replaced,
        });
    }
    Ok(restored)
}

fn snapshot_path(dir: &Path, copy: &StreamCopy) -> PathBuf {
    dir.join(format!("{}.snapshot", copy.stream))
}

/// Checks a snapshot file's size and digest against the manifest.
async fn check_file(dir: &Path, copy: &StreamCopy) -> Result<(), EventStoreError> {
    let path = snapshot_path(dir, copy);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| io("cannot read", &path, e))?;
    let mut digest = Sha256::new();
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file
            .read(&mut buffer)
            .await
            .map_err(|e| io("cannot read", &path, e))?;
        if read == 0 {
            break;
        }
        digest.update(&buffer[..read]);
        bytes += read as u64;
    }
    let sha256: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes != copy.bytes || sha256 != copy.sha256 {
        return Err(EventStoreError::Backup(format!(
            "{} is not the file the manifest describes ({bytes} bytes, SHA-256 {sha256})",
            path.display()
        )));
    }
    Ok(())
}

async fn read_described(dir: &Path, copy: &StreamCopy) -> Result<Described, EventStoreError> {
    let path = dir.join(format!("{}.json", copy.stream));
    let text = tokio::fs::read(&path)
        .await
        .map_err(|e| io("cannot read", &path, e))?;
    let value: Value = serde_json::from_slice(&text)
        .map_err(|e| EventStoreError::Backup(format!("{} is not JSON: {e}", path.display())))?;
    Ok(Described {
        config: value["config"].clone(),
        state: value["state"].clone(),
    })
}
