//! Which fields of which events are a member's personal data, and so are
//! stored sealed with that member's own key (crypto-shredding, ADR 16).
//!
//! The domain works with the plain form of these events. The log holds a
//! sealed form, a version of its own: the plain payload without its personal
//! fields, plus `sealed`, the personal fields encrypted with the owner's key.
//! Destroying the key erases the fields from every copy of the log at once;
//! a sealed event whose key is gone opens to [`PersonalFields::erased`]
//! placeholders, so everything else in it (ids, times) replays as before.
//!
//! This module is the pure part: the table and the splitting and joining
//! of JSON objects. The encryption itself is the event store's.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::EventType;

/// The name of the field that carries the sealed personal fields.
pub const SEALED_FIELD: &str = "sealed";

/// One event type's personal fields and whose they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalFields {
    /// The form the domain reads and writes, and the log held before sealing.
    pub plain: EventType,
    /// The form the log holds now.
    pub sealed: EventType,
    /// The field naming the member whose key seals the rest.
    pub owner: &'static str,
    /// The personal fields, sealed together.
    pub fields: &'static [&'static str],
}

/// Every event type that carries personal data.
pub const PERSONAL_EVENTS: &[PersonalFields] = &[
    PersonalFields {
        plain: EventType::USER_REGISTERED,
        sealed: EventType::USER_REGISTERED_SEALED,
        owner: "user_id",
        fields: &["username", "email", "password_hash"],
    },
    PersonalFields {
        plain: EventType::USER_PROFILE_UPDATED,
        sealed: EventType::USER_PROFILE_UPDATED_SEALED,
        owner: "user_id",
        fields: &["display_name", "bio", "website"],
    },
    PersonalFields {
        plain: EventType::USER_PASSWORD_CHANGED,
        sealed: EventType::USER_PASSWORD_CHANGED_SEALED,
        owner: "user_id",
        fields: &["password_hash"],
    },
    // The client a member logs in with can tell them apart.
    PersonalFields {
        plain: EventType::SESSION_STARTED,
        sealed: EventType::SESSION_STARTED_SEALED,
        owner: "user_id",
        fields: &["user_agent"],
    },
    // What a member writes in a comment is theirs: erased with them, while
    // the comment keeps its place in the thread.
    PersonalFields {
        plain: EventType::COMMENT_POSTED,
        sealed: EventType::COMMENT_POSTED_SEALED,
        owner: "author_id",
        fields: &["body"],
    },
    PersonalFields {
        plain: EventType::COMMENT_EDITED,
        sealed: EventType::COMMENT_EDITED_SEALED,
        owner: "author_id",
        fields: &["body"],
    },
];

/// Why a payload could not be split or joined.
#[derive(Debug, thiserror::Error)]
pub enum PersonalDataError {
    #[error("payload is not a JSON object: {0}")]
    NotAnObject(#[from] serde_json::Error),
    #[error("the payload has no owner id in `{0}`")]
    NoOwner(&'static str),
    #[error("the payload lacks `{0}`")]
    Missing(&'static str),
}

/// A plain payload taken apart: what stays in clear, and what is sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub owner: Uuid,
    pub clear: Map<String, Value>,
    pub personal: Map<String, Value>,
}

impl PersonalFields {
    /// The entry for a plain (domain) event type, if it carries personal data.
    pub fn of_plain(event_type: EventType) -> Option<&'static Self> {
        PERSONAL_EVENTS.iter().find(|p| p.plain == event_type)
    }

    /// The entry for a sealed (stored) event type.
    pub fn of_sealed(event_type: EventType) -> Option<&'static Self> {
        PERSONAL_EVENTS.iter().find(|p| p.sealed == event_type)
    }

    /// Takes a plain payload apart into its clear and personal fields.
    pub fn split(&self, plain: &[u8]) -> Result<Split, PersonalDataError> {
        let mut clear: Map<String, Value> = serde_json::from_slice(plain)?;
        let owner = owner_of(&clear, self.owner)?;
        let mut personal = Map::new();
        for field in self.fields {
            let value = clear
                .remove(*field)
                .ok_or(PersonalDataError::Missing(field))?;
            personal.insert((*field).to_owned(), value);
        }
        Ok(Split {
            owner,
            clear,
            personal,
        })
    }

    /// The owner named by the clear part of a sealed payload.
    pub fn owner_of(&self, clear: &Map<String, Value>) -> Result<Uuid, PersonalDataError> {
        owner_of(clear, self.owner)
    }

    /// The plain payload again, from the clear part of a sealed payload and
    /// its opened personal fields (only those this entry names are taken).
    pub fn join(&self, mut clear: Map<String, Value>, mut personal: Map<String, Value>) -> Vec<u8> {
        clear.remove(SEALED_FIELD);
        for field in self.fields {
            let value = personal.remove(*field).unwrap_or(Value::Null);
            clear.insert((*field).to_owned(), value);
        }
        serde_json::to_vec(&clear).expect("a JSON map serialises")
    }

    /// What the personal fields read as once the owner's key is destroyed:
    /// nothing of the member, yet still what the plain form requires, and
    /// unique per member where a view wants it unique (a username).
    pub fn erased(&self, owner: Uuid) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|field| {
                (
                    (*field).to_owned(),
                    Value::String(erased_value(field, owner)),
                )
            })
            .collect()
    }
}

/// A placeholder for an erased field: a username and an e-mail address stay
/// well-formed and unique, every other text is empty.
pub fn erased_value(field: &str, owner: Uuid) -> String {
    let id = owner.simple().to_string();
    match field {
        "username" => format!("erased_{}", &id[..24]),
        "email" => format!("{id}@erased.invalid"),
        _ => String::new(),
    }
}

fn owner_of(payload: &Map<String, Value>, field: &'static str) -> Result<Uuid, PersonalDataError> {
    payload
        .get(field)
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .ok_or(PersonalDataError::NoOwner(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_and_join_give_the_plain_payload_back() {
        let owner = Uuid::now_v7();
        let plain = json!({
            "user_id": owner, "username": "ada", "email": "ada@example.org",
            "password_hash": "$argon2id$x", "registered_at": "2026-12-06T00:00:00Z"
        });
        let entry = PersonalFields::of_plain(EventType::USER_REGISTERED).unwrap();
        let split = entry.split(&serde_json::to_vec(&plain).unwrap()).unwrap();
        assert_eq!(split.owner, owner);
        assert_eq!(
            split.clear.keys().collect::<Vec<_>>(),
            ["registered_at", "user_id"]
        );
        assert!(!serde_json::to_string(&split.clear).unwrap().contains("ada"));
        let joined: Value =
            serde_json::from_slice(&entry.join(split.clear, split.personal)).unwrap();
        assert_eq!(joined, plain);
    }

    #[test]
    fn erased_fields_keep_their_shape_and_say_nothing() {
        let owner = Uuid::now_v7();
        let entry = PersonalFields::of_plain(EventType::USER_REGISTERED).unwrap();
        let erased = entry.erased(owner);
        let username = erased["username"].as_str().unwrap();
        assert!(crate::user::Username::parse(username).is_ok(), "{username}");
        assert!(
            erased["email"]
                .as_str()
                .unwrap()
                .ends_with("@erased.invalid")
        );
        assert_eq!(erased["password_hash"], "");
    }

    #[test]
    fn every_entry_pairs_a_written_sealed_type_with_a_readable_plain_one() {
        for entry in PERSONAL_EVENTS {
            assert!(EventType::ALL.contains(&entry.sealed), "{entry:?}");
            assert!(EventType::SUPERSEDED.contains(&entry.plain), "{entry:?}");
            assert_eq!(entry.plain.name, entry.sealed.name);
        }
    }
}
