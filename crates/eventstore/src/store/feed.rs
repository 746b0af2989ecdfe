//! Feeds: the log read in order from a position, then live, as an
//! ordered consumer that opens with escalating timeouts and ends when the
//! NATS connection is renewed.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures::{Stream, StreamExt};

use super::{EventStore, REQUEST_TIMEOUT, open_raw};
use crate::EventStoreError;
use crate::envelope::RawEvent;

/// How long each attempt to open a feed (create its consumer) may take, in
/// turn. Two causes of a slow answer need opposite limits:
/// - the server counts the messages a new consumer has pending before it
///   answers, which on a log of a million events under load took longer
///   than [`REQUEST_TIMEOUT`]: with that limit alone, every projector and
///   replay failed to open its feed for minutes;
/// - while a cluster elects a new leader for the stream, a request is never
///   answered at all, and only a new request after the election succeeds:
///   with one long limit, a projector sat out the whole 30 s after a
///   failover that took 5.
///
/// So the first attempt is short and each one after it waits longer.
const FEED_OPEN_TIMEOUTS: [Duration; 5] = [
    REQUEST_TIMEOUT,
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
    Duration::from_secs(30),
];

impl EventStore {
    /// Every event after `position`, in order, then live ones as they are appended.
    pub async fn feed_after(&self, position: u64) -> Result<EventFeed, EventStoreError> {
        self.consume(self.settings.namespace.all_events_subject(), position + 1)
            .await
    }

    pub(super) async fn consume(
        &self,
        subject: String,
        start: u64,
    ) -> Result<EventFeed, EventStoreError> {
        let config = consumer::pull::OrderedConfig {
            filter_subject: subject,
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        };
        let mut attempts = FEED_OPEN_TIMEOUTS.iter().peekable();
        let consumer = loop {
            let timeout = *attempts.next().expect("at least one attempt");
            let mut js = jetstream::new(self.client.clone());
            js.set_timeout(timeout);
            match js
                .create_consumer_on_stream(config.clone(), self.settings.namespace.stream_name())
                .await
            {
                Ok(consumer) => break consumer,
                Err(error)
                    if error.kind() == stream::ConsumerErrorKind::TimedOut
                        && attempts.peek().is_some() =>
                {
                    tracing::debug!(?timeout, "opening a feed timed out; trying again");
                }
                Err(error) => return Err(EventStoreError::unavailable(error)),
            }
        };
        let messages = consumer
            .messages()
            .await
            .map_err(EventStoreError::unavailable)?;
        let keys = self.keys.clone();
        let events = messages.map(to_raw).then(move |raw| {
            let keys = keys.clone();
            async move { open_raw(&keys, raw?).await }
        });
        let mut renewal = tokio::time::interval(RENEWAL_CHECK);
        renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(EventFeed {
            events: Box::pin(events),
            client: self.client.clone(),
            connects_at_open: self.connects(),
            renewal,
            ended: false,
        })
    }
}

fn to_raw(
    message: Result<jetstream::Message, consumer::pull::OrderedError>,
) -> Result<RawEvent, EventStoreError> {
    let message = message.map_err(EventStoreError::unavailable)?;
    let position = message
        .info()
        .map_err(EventStoreError::unavailable)?
        .stream_sequence;
    Ok(RawEvent::new(
        position,
        message.subject.as_str(),
        message.headers.as_ref(),
        message.payload.clone(),
    ))
}

type RawEvents = Pin<Box<dyn Stream<Item = Result<RawEvent, EventStoreError>> + Send>>;

/// An ordered, gap-free run of stored events, sealed ones opened. The
/// ordered consumer behind it recreates itself from the last sequence it
/// saw if NATS drops a message.
///
/// When the NATS connection is renewed (the server came back), the feed
/// ends with an error at once: the consumer behind it would notice its loss
/// only after missed heartbeats, some 15 s later, and whoever reads the
/// feed opens it again from where they are.
pub struct EventFeed {
    events: RawEvents,
    client: async_nats::Client,
    connects_at_open: u64,
    renewal: tokio::time::Interval,
    ended: bool,
}

/// How often a feed checks whether the NATS connection was renewed.
const RENEWAL_CHECK: Duration = Duration::from_millis(250);

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed").finish_non_exhaustive()
    }
}

impl Stream for EventFeed {
    type Item = Result<RawEvent, EventStoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Poll::Ready(next) = self.events.poll_next_unpin(cx) {
            return Poll::Ready(next);
        }
        while self.renewal.poll_tick(cx).is_ready() {
            let connects = self.client.statistics().connects.load(Ordering::Relaxed);
            if connects != self.connects_at_open {
                self.ended = true;
                return Poll::Ready(Some(Err(EventStoreError::unavailable(
                    "the NATS connection was renewed; open the feed again",
                ))));
            }
        }
        Poll::Pending
    }
}
