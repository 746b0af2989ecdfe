//! The CloudEvents 1.0 envelope in the NATS binary binding: context attributes
//! travel as `ce-*` headers and the payload is the event's own JSON.

use std::sync::OnceLock;

use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use resourcify_domain::{DecodeError, DomainEvent, EventType};
use uuid::Uuid;

pub(crate) const SPEC_VERSION: &str = "1.0";

/// Builds the headers of one event about to be appended.
pub(crate) fn headers(
    event_type: EventType,
    aggregate: &str,
    id: Uuid,
    source: &str,
    msg_id: &str,
    time: DateTime<Utc>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("ce-specversion", SPEC_VERSION);
    headers.insert("ce-id", Uuid::now_v7().to_string().as_str());
    headers.insert("ce-source", source);
    headers.insert("ce-type", event_type.ce_type().as_str());
    headers.insert(
        "ce-time",
        time.to_rfc3339_opts(SecondsFormat::Micros, true).as_str(),
    );
    headers.insert("ce-subject", format!("{aggregate}/{id}").as_str());
    headers.insert("content-type", "application/json");
    headers.insert("Nats-Msg-Id", msg_id);
    headers
}

/// An event as it sits in the stream, not yet decoded. Projectors keep this
/// form for dead letters, so an unreadable event is never lost.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub position: u64,
    pub subject: String,
    pub ce_type: Option<String>,
    pub ce_id: Option<String>,
    pub ce_time: Option<String>,
    /// As stored: sealed, for an event with personal data.
    pub payload: Bytes,
    /// For a sealed event, once the event store opened it: its plain type
    /// and payload, or why it does not open.
    opened: Option<Result<(EventType, Bytes), String>>,
    /// What [`Self::decoded`] made of it, kept: the live projectors hand
    /// one event to every projection, and a submission that four of them
    /// read is parsed once, not four times.
    decoded: OnceLock<Result<RecordedEvent, String>>,
}

impl RawEvent {
    /// Rebuilds a stored event from its parts, e.g. from a dead letter.
    pub fn from_parts(position: u64, subject: &str, ce_type: Option<&str>, payload: Bytes) -> Self {
        Self {
            position,
            subject: subject.to_owned(),
            ce_type: ce_type.map(str::to_owned),
            ce_id: None,
            ce_time: None,
            payload,
            opened: None,
            decoded: OnceLock::new(),
        }
    }

    pub(crate) fn new(
        position: u64,
        subject: &str,
        headers: Option<&HeaderMap>,
        payload: Bytes,
    ) -> Self {
        let header = |name: &str| {
            headers
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        Self {
            position,
            subject: subject.to_owned(),
            ce_type: header("ce-type"),
            ce_id: header("ce-id"),
            ce_time: header("ce-time"),
            payload,
            opened: None,
            decoded: OnceLock::new(),
        }
    }

    /// Decodes the payload by its `ce-type`. Old versions are upcast here.
    /// A sealed event decodes only once the event store has opened it (every
    /// feed and load does).
    pub fn decode(&self) -> Result<RecordedEvent, DecodeError> {
        let ce_type = self
            .ce_type
            .as_deref()
            .ok_or_else(|| DecodeError::UnknownType("(no ce-type header)".into()))?;
        let event_type = EventType::from_ce_type(ce_type)
            .ok_or_else(|| DecodeError::UnknownType(ce_type.to_owned()))?;
        let event = match &self.opened {
            Some(Ok((plain, payload))) => DomainEvent::decode(*plain, payload)?,
            Some(Err(reason)) => return Err(DecodeError::Unsealable(reason.clone())),
            None => DomainEvent::decode(event_type, &self.payload)?,
        };
        let time = self
            .ce_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(RecordedEvent {
            position: self.position,
            time,
            event,
        })
    }

    /// [`Self::decode`], done once however often it is asked for: the
    /// event, or why it does not decode.
    pub fn decoded(&self) -> Result<&RecordedEvent, &str> {
        self.decoded
            .get_or_init(|| self.decode().map_err(|error| error.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Sets what a sealed event opened to, forgetting any decoding of it
    /// before (there is none: the store opens events before it hands
    /// them out).
    pub(crate) fn set_opened(&mut self, opened: Option<Result<(EventType, Bytes), String>>) {
        self.opened = opened;
        self.decoded = OnceLock::new();
    }
}

/// A decoded event with its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The stream sequence: a global, gap-tolerant, strictly increasing position.
    pub position: u64,
    pub time: Option<DateTime<Utc>>,
    pub event: DomainEvent,
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::RawEvent;

    const VOTE: &str = include_str!("../../../tests/fixtures/events/vote.cast/v1.json");

    #[test]
    fn an_event_is_decoded_once_and_as_decode_does() {
        let raw = RawEvent::from_parts(
            7,
            "events.vote.x",
            Some("resourcify.vote.cast.v1"),
            Bytes::from_static(VOTE.as_bytes()),
        );
        let first = raw.decoded().expect("the fixture decodes");
        assert_eq!(*first, raw.decode().expect("the fixture decodes"));
        assert!(std::ptr::eq(first, raw.decoded().expect("decoded again")));
    }

    #[test]
    fn an_undecodable_event_says_why_every_time() {
        let raw = RawEvent::from_parts(
            8,
            "events.vote.x",
            Some("resourcify.vote.cast.v1"),
            Bytes::from_static(b"{\"not\": \"a vote\"}"),
        );
        let error = raw.decoded().expect_err("not a vote");
        assert!(error.contains("does not match its schema"), "{error}");
        assert_eq!(raw.decoded().expect_err("still not a vote"), error);
    }
}
