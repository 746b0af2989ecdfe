//! Every event type has a JSON Schema, and what serde writes matches it.

use std::path::PathBuf;

use chrono::Utc;
use resourcify_domain::resource::{ResourceKind, ResourceSubmitted};
use resourcify_domain::user::UserRegistered;
use resourcify_domain::{DomainEvent, EventType};
use serde_json::{Value, json};
use uuid::Uuid;

fn schema_path(event_type: EventType) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/events")
        .join(event_type.name)
        .join(format!("v{}.json", event_type.version))
}

fn validator(event_type: EventType) -> jsonschema::Validator {
    let path = schema_path(event_type);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} has no schema at {}: {e}",
            event_type.ce_type(),
            path.display()
        )
    });
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()))
}

/// One realistic sample of every event the code can write.
fn samples() -> Vec<DomainEvent> {
    vec![
        DomainEvent::UserRegistered(UserRegistered {
            user_id: Uuid::now_v7(),
            username: "ada_lovelace".into(),
            email: "ada@example.org".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            registered_at: Utc::now(),
        }),
        DomainEvent::ResourceSubmitted(ResourceSubmitted {
            resource_id: Uuid::now_v7(),
            author_id: Uuid::now_v7(),
            title: "The Rust Book".into(),
            url: "https://doc.rust-lang.org/book/".into(),
            description: String::new(),
            tags: vec!["rust".into(), "c++".into()],
            kind: ResourceKind::Book,
            submitted_at: Utc::now(),
        }),
    ]
}

#[test]
fn every_event_type_has_a_schema_and_a_sample() {
    let sampled: Vec<_> = samples().iter().map(DomainEvent::event_type).collect();
    for event_type in EventType::ALL {
        assert!(
            schema_path(*event_type).exists(),
            "{event_type:?} has no schema"
        );
        assert!(sampled.contains(event_type), "{event_type:?} has no sample");
    }
}

#[test]
fn serialised_events_match_their_schemas_and_decode_back() {
    for event in samples() {
        let event_type = event.event_type();
        let payload = event.to_payload();
        let json: Value = serde_json::from_slice(&payload).unwrap();
        let validator = validator(event_type);
        let errors: Vec<_> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", event_type.ce_type());
        assert_eq!(DomainEvent::decode(event_type, &payload).unwrap(), event);
    }
}

#[test]
fn the_schemas_refuse_what_the_domain_refuses() {
    let resource = validator(EventType::RESOURCE_SUBMITTED);
    let DomainEvent::ResourceSubmitted(sample) = samples().remove(1) else {
        unreachable!()
    };
    let good = serde_json::to_value(&sample).unwrap();
    let broken = [
        json!({"tags": []}),
        json!({"tags": ["a", "b", "c", "d", "e", "f"]}),
        json!({"kind": "blog"}),
        json!({"url": "ftp://example.org"}),
        json!({"title": "ab"}),
        json!({"extra": true}),
    ];
    for change in broken {
        let mut bad = good.clone();
        bad.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        assert!(!resource.is_valid(&bad), "schema accepted {change}");
    }
}
