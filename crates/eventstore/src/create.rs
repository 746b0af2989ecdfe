//! Creating streams, with the one retry the server's own race calls for.

use std::time::Duration;

use async_nats::jetstream::context::{CreateStreamError, CreateStreamErrorKind};
use async_nats::jetstream::{self, ErrorCode, stream};

use crate::EventStoreError;

/// Opens the stream `config` names, creating it if missing.
///
/// Two races make a creation fail when nothing is wrong but the timing, so
/// it is tried again a few times before it counts as a failure:
/// - nats-server 2.9 removes an account's stream directory when its last
///   stream is deleted; a stream created at that moment fails with "could
///   not create storage directory" (10049/10077);
/// - two nodes starting together on a new namespace both find the stream
///   missing and both create it; the later one is told the name is taken
///   or the subjects overlap (10058/10065), and the next attempt finds it.
pub(crate) async fn get_or_create_stream(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<stream::Stream, EventStoreError> {
    let mut attempt = 0;
    loop {
        match js.get_or_create_stream(config.clone()).await {
            Ok(stream) => return Ok(stream),
            Err(error) if attempt < 5 && is_creation_race(&error) => {
                attempt += 1;
                tracing::debug!(%error, attempt, "stream not created yet; trying again");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(error) => return Err(EventStoreError::unavailable(error)),
        }
    }
}

fn is_creation_race(error: &CreateStreamError) -> bool {
    match error.kind() {
        CreateStreamErrorKind::JetStream(error) => matches!(
            error.error_code(),
            ErrorCode::STREAM_CREATE
                | ErrorCode::STREAM_STORE_FAILED
                | ErrorCode::STREAM_NAME_EXIST
                | ErrorCode::STREAM_SUBJECT_OVERLAP
        ),
        _ => false,
    }
}
