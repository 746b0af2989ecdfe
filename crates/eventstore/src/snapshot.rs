//! JetStream's own snapshot and restore of one stream, spoken over core
//! NATS (async-nats has no helper for them); `nats stream backup` and
//! `restore` speak the same protocol.
//!
//! A snapshot is the stream's store as the server keeps it (a tar of its
//! message blocks, s2-compressed): sequence numbers, the gaps erasures
//! left, headers and timestamps come back exactly as they were, which no
//! copy made by reading and publishing messages again could do.
//!
//! - Snapshot: a request to `$JS.API.STREAM.SNAPSHOT.<stream>` names an
//!   inbox; the server answers with the stream's config and state, then
//!   sends the snapshot to the inbox in chunks. Each chunk but the last
//!   carries a reply subject to acknowledge it on (the server's flow
//!   control); an empty message without one ends the transfer.
//! - Restore: a request to `$JS.API.STREAM.RESTORE.<stream>` with the
//!   config and state; the server answers with a subject to send the
//!   chunks to, each as a request it acknowledges, then an empty request,
//!   answered once the stream is in place with its info, or an error.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::EventStoreError;

/// How much each chunk holds, both ways (well under NATS's 1 MB payload).
const CHUNK_SIZE: usize = 128 * 1024;

/// How long the server may stay silent in the middle of a transfer, or take
/// to prepare one: long enough for a large stream's store to be packed or
/// unpacked, short enough for a dead server to be noticed.
const SILENCE: Duration = Duration::from_secs(120);

/// The stream's "not found" error code in the JetStream API.
const STREAM_NOT_FOUND: u64 = 10059;

/// The stream as the server described it when its snapshot began: what a
/// restore hands back to it, kept as the server wrote it.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    pub config: Value,
    pub state: Value,
}

/// A snapshot written out: how many bytes, and their SHA-256.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub bytes: u64,
    pub sha256: String,
}

fn failed(what: &str, stream: &str, why: impl std::fmt::Display) -> EventStoreError {
    EventStoreError::Backup(format!("{what} of {stream}: {why}"))
}

/// The `error` of a JetStream API answer, if it has one: its code and text.
fn api_error(answer: &Value) -> Option<(u64, String)> {
    let error = answer.get("error")?;
    let code = error["err_code"].as_u64().unwrap_or(0);
    let description = error["description"].as_str().unwrap_or("unknown error");
    Some((code, format!("{description} (error {code})")))
}

fn parse(what: &str, stream: &str, payload: &[u8]) -> Result<Value, EventStoreError> {
    serde_json::from_slice(payload).map_err(|e| {
        failed(
            what,
            stream,
            format!("the server's answer is not JSON: {e}"),
        )
    })
}

/// Snapshots `stream` into `sink`. `Ok(None)`: there is no such stream.
pub(crate) async fn snapshot(
    client: &async_nats::Client,
    stream: &str,
    sink: &mut (impl AsyncWrite + Unpin),
) -> Result<Option<(Described, Written)>, EventStoreError> {
    let fail = |why: String| failed("the snapshot", stream, why);
    let inbox = client.new_inbox();
    // Subscribed before asking: the first chunk may follow the answer at once.
    let mut chunks = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let request = json!({
        "deliver_subject": inbox,
        // The projectors' consumers are ordered ones, made afresh by every
        // node: there is nothing of them worth keeping.
        "no_consumers": true,
        "chunk_size": CHUNK_SIZE,
    });
    let answer = client
        .send_request(
            format!("$JS.API.STREAM.SNAPSHOT.{stream}"),
            async_nats::Request::new()
                .payload(Bytes::from(request.to_string()))
                .timeout(Some(SILENCE)),
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let answer = parse("the snapshot", stream, &answer.payload)?;
    match api_error(&answer) {
        Some((STREAM_NOT_FOUND, _)) => return Ok(None),
        Some((_, why)) => return Err(fail(why)),
        None => {}
    }
    let described = Described {
        config: answer["config"].clone(),
        state: answer["state"].clone(),
    };
    let mut digest = Sha256::new();
    let mut bytes = 0u64;
    loop {
        let chunk = tokio::time::timeout(SILENCE, chunks.next())
            .await
            .map_err(|_| fail(format!("the server sent nothing for {SILENCE:?}")))?
            .ok_or_else(|| fail("the connection closed".into()))?;
        if chunk.payload.is_empty() && chunk.reply.is_none() {
            // The end. A server that gave up says why in a status header.
            if let Some(status) = chunk.status.filter(|s| !s.is_success()) {
                let why = chunk.description.unwrap_or_default();
                return Err(fail(format!("the server stopped: {status} {why}")));
            }
            break;
        }
        sink.write_all(&chunk.payload)
            .await
            .map_err(|e| fail(e.to_string()))?;
        digest.update(&chunk.payload);
        bytes += chunk.payload.len() as u64;
        if let Some(reply) = chunk.reply {
            client
                .publish(reply, Bytes::new())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    sink.flush().await.map_err(|e| fail(e.to_string()))?;
    let sha256 = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some((described, Written { bytes, sha256 })))
}

/// Restores `stream` from a snapshot read from `source`, with the config
/// and state its snapshot began with. The stream must not exist. Returns
/// the restored stream's state as the server reports it.
pub(crate) async fn restore(
    client: &async_nats::Client,
    stream: &str,
    described: &Described,
    source: &mut (impl AsyncRead + Unpin),
) -> Result<Value, EventStoreError> {
    let fail = |why: String| failed("the restore", stream, why);
    let request = json!({"config": described.config, "state": described.state});
    let answer = client
        .send_request(
            format!("$JS.API.STREAM.RESTORE.{stream}"),
            async_nats::Request::new()
                .payload(Bytes::from(request.to_string()))
                .timeout(Some(SILENCE)),
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let answer = parse("the restore", stream, &answer.payload)?;
    if let Some((_, why)) = api_error(&answer) {
        return Err(fail(why));
    }
    let deliver = answer["deliver_subject"]
        .as_str()
        .ok_or_else(|| fail("the server named no subject to send the snapshot to".into()))?
        .to_owned();
    let send = |payload: Bytes| {
        client.send_request(
            deliver.clone(),
            async_nats::Request::new()
                .payload(payload)
                .timeout(Some(SILENCE)),
        )
    };
    let mut buffer = vec![0u8; CHUNK_SIZE];
    loop {
        let filled = read_chunk(source, &mut buffer)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if filled == 0 {
            break;
        }
        let ack = send(Bytes::copy_from_slice(&buffer[..filled]))
            .await
            .map_err(|e| fail(e.to_string()))?;
        // An acknowledgement is empty; anything else is the server's refusal.
        if !ack.payload.is_empty() {
            return Err(fail(String::from_utf8_lossy(&ack.payload).into_owned()));
        }
    }
    let done = send(Bytes::new()).await.map_err(|e| fail(e.to_string()))?;
    let done = parse("the restore", stream, &done.payload)?;
    if let Some((_, why)) = api_error(&done) {
        return Err(fail(why));
    }
    Ok(done["state"].clone())
}

/// Fills `buffer` from `source` as far as it goes; 0 at the end.
async fn read_chunk(
    source: &mut (impl AsyncRead + Unpin),
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = source.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}
