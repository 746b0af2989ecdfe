//! The event contract: every event version the code can write or read has a
//! JSON Schema and a golden fixture; fixtures decode (old versions through
//! their upcasters), serde writes exactly the fixture back, and the schemas
//! accept it. A change to an event's shape that forgets any of these fails
//! here, before a single event of the new shape is stored.

use std::path::PathBuf;

use resourcify_domain::personal::PersonalFields;
use resourcify_domain::{DecodeError, DomainEvent, EventType};
use serde_json::{Map, Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema_path(event_type: EventType) -> PathBuf {
    root()
        .join("schemas/events")
        .join(event_type.name)
        .join(format!("v{}.json", event_type.version))
}

fn fixture(event_type: EventType) -> Value {
    let path = root()
        .join("tests/fixtures/events")
        .join(event_type.name)
        .join(format!("v{}.json", event_type.version));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} has no golden fixture at {}: {e}",
            event_type.ce_type(),
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn schema(event_type: EventType) -> Value {
    let path = schema_path(event_type);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} has no schema at {}: {e}",
            event_type.ce_type(),
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn validator(event_type: EventType) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema(event_type))
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", event_type.ce_type()))
}

fn assert_valid(event_type: EventType, json: &Value) {
    let validator = validator(event_type);
    let errors: Vec<_> = validator.iter_errors(json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", event_type.ce_type());
}

/// The current version of an event type's name.
fn current(name: &str) -> EventType {
    *EventType::ALL
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is no longer written"))
}

#[test]
fn every_schema_is_closed_and_requires_every_property() {
    for event_type in EventType::readable() {
        let schema = schema(event_type);
        assert_eq!(schema["additionalProperties"], false, "{event_type:?}");
        let mut properties: Vec<_> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut required: Vec<String> = serde_json::from_value(schema["required"].clone()).unwrap();
        properties.sort();
        required.sort();
        assert_eq!(properties, required, "{event_type:?}");
    }
}

#[test]
fn every_golden_fixture_matches_its_schema_and_decodes() {
    for event_type in EventType::readable() {
        let fixture = fixture(event_type);
        assert_valid(event_type, &fixture);
        let mut payload = serde_json::to_vec(&fixture).unwrap();
        let mut stored_as = event_type;
        if let Some(sealing) = PersonalFields::of_sealed(event_type) {
            // Sealed fields open only with the owner's key (the event
            // store's); unopened, the payload is refused, and with the key
            // gone it opens to placeholders and decodes as its plain form.
            assert!(
                matches!(
                    DomainEvent::decode(event_type, &payload),
                    Err(DecodeError::Sealed(_))
                ),
                "{event_type:?}"
            );
            let clear: Map<String, Value> = serde_json::from_slice(&payload).unwrap();
            let owner = sealing.owner_of(&clear).unwrap();
            payload = sealing.join(clear, sealing.erased(owner));
            stored_as = sealing.plain;
        }
        let event = DomainEvent::decode(stored_as, &payload)
            .unwrap_or_else(|e| panic!("{}: {e}", event_type.ce_type()));
        // Old versions come out upcast, as the current version (the plain
        // form of a sealed one).
        let decoded_as = event.event_type();
        let current = current(event_type.name);
        let current = PersonalFields::of_sealed(current).map_or(current, |p| p.plain);
        assert_eq!(decoded_as, current, "{event_type:?}");
        if stored_as != event_type {
            continue;
        }
        let written: Value = serde_json::from_slice(&event.to_payload()).unwrap();
        assert_valid(decoded_as, &written);
        if decoded_as == event_type {
            assert_eq!(
                written, fixture,
                "serde no longer writes {event_type:?} as before"
            );
        }
    }
}

#[test]
fn version_1_submissions_are_upcast_with_their_canonical_url() {
    let v1 = serde_json::to_vec(&fixture(EventType::RESOURCE_SUBMITTED_V1)).unwrap();
    let upcast = DomainEvent::decode(EventType::RESOURCE_SUBMITTED_V1, &v1).unwrap();
    let json: Value = serde_json::from_slice(&upcast.to_payload()).unwrap();
    assert_eq!(json["url"], "https://doc.rust-lang.org/book/");
    assert_eq!(json["canonical_url"], "https://doc.rust-lang.org/book");
}

#[test]
fn version_1_sessions_are_upcast_with_an_empty_user_agent() {
    let v1 = serde_json::to_vec(&fixture(EventType::SESSION_STARTED_V1)).unwrap();
    let upcast = DomainEvent::decode(EventType::SESSION_STARTED_V1, &v1).unwrap();
    assert_eq!(upcast.event_type(), EventType::SESSION_STARTED);
    let json: Value = serde_json::from_slice(&upcast.to_payload()).unwrap();
    assert_eq!(json["user_agent"], "");
    assert_eq!(json["session_id"], "0193a5c4-9000-7000-9000-00000000b001");
}

#[test]
fn unknown_versions_are_refused_not_guessed() {
    let future = EventType {
        name: "resource.submitted",
        version: 99,
    };
    let payload = serde_json::to_vec(&fixture(EventType::RESOURCE_SUBMITTED)).unwrap();
    assert!(DomainEvent::decode(future, &payload).is_err());
    assert_eq!(
        EventType::from_ce_type("resourcify.resource.submitted.v99"),
        None
    );
}

#[test]
fn the_schemas_refuse_what_the_domain_refuses() {
    let resource = validator(EventType::RESOURCE_SUBMITTED);
    let good = fixture(EventType::RESOURCE_SUBMITTED);
    let broken = [
        json!({"tags": []}),
        json!({"tags": ["a", "b", "c", "d", "e", "f"]}),
        json!({"tags": ["Not A Tag"]}),
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
    let role = validator(EventType::USER_ROLE_GRANTED);
    let mut member = fixture(EventType::USER_ROLE_GRANTED);
    member["role"] = json!("member");
    assert!(!role.is_valid(&member), "member is no grantable role");
}

/// The event subjects are a public interface: `asyncapi.yaml` names every
/// event type the code writes or reads, each with its schema, and every
/// schema it names exists.
#[test]
fn the_asyncapi_document_names_every_event_type_and_schema() {
    let document = std::fs::read_to_string(root().join("asyncapi.yaml")).unwrap();
    assert!(document.starts_with("asyncapi: 3.0.0"));
    for event_type in EventType::readable() {
        let name = format!("name: {}", event_type.ce_type());
        let payload = format!(
            "$ref: \"./schemas/events/{}/v{}.json\"",
            event_type.name, event_type.version
        );
        assert!(document.contains(&name), "asyncapi.yaml lacks {name}");
        assert!(document.contains(&payload), "asyncapi.yaml lacks {payload}");
    }
    for line in document
        .lines()
        .filter(|l| l.contains("$ref: \"./schemas/"))
    {
        let path = line.split('"').nth(1).unwrap();
        assert!(root().join(path).exists(), "{path} does not exist");
    }
    for aggregate in ["user", "session", "resource", "vote", "bookmark", "comment"] {
        let address = format!("address: \"{{namespace}}.events.{aggregate}.");
        assert!(document.contains(&address), "no channel for {aggregate}");
    }
    // Every message a channel names is defined under `components`, as a
    // key of its own at the messages' indentation, with a name: the shape
    // a misplaced insertion breaks while every string above is still there.
    for line in document
        .lines()
        .filter(|l| l.contains("$ref: \"#/components/messages/"))
    {
        let message = line.split('/').next_back().unwrap().trim_end_matches('"');
        let defined = format!("\n    {message}:\n      name: resourcify.");
        assert!(
            document.contains(&defined),
            "{message} is named but not defined"
        );
        let listed = format!("\n      {message}:\n        $ref: ");
        assert!(document.contains(&listed), "{message} is in no channel");
    }
}

#[test]
fn every_text_in_an_event_schema_refuses_what_the_api_refuses() {
    use resourcify_domain::{MULTI_LINE_FIELDS, MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN};
    let is_free_text = |s: &Value| {
        let string = s["type"] == "string" || s["type"] == json!(["string", "null"]);
        string
            && ["format", "enum", "pattern", "const"]
                .iter()
                .all(|k| s.get(k).is_none())
    };
    for event_type in EventType::ALL.iter().copied() {
        let schema = schema(event_type);
        for (name, property) in schema["properties"].as_object().unwrap() {
            for s in [property, &property["items"]] {
                assert!(!is_free_text(s), "{event_type:?}.{name} has no text rule");
                if s["pattern"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("^[^\\x00"))
                {
                    let expected = if MULTI_LINE_FIELDS.contains(&name.as_str()) {
                        MULTI_LINE_PATTERN
                    } else {
                        SINGLE_LINE_PATTERN
                    };
                    assert_eq!(s["pattern"], expected, "{event_type:?}.{name}");
                }
            }
        }
        // A NUL in a field under the text rule is refused.
        let texts: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| {
                [SINGLE_LINE_PATTERN, MULTI_LINE_PATTERN]
                    .contains(&p["pattern"].as_str().unwrap_or(""))
            })
            .map(|(name, _)| name.clone())
            .collect();
        let mut with_nul = fixture(event_type);
        if let Some(text) = with_nul
            .as_object_mut()
            .unwrap()
            .iter_mut()
            .find(|(name, v)| texts.contains(name) && v.is_string())
            .map(|(_, v)| v)
        {
            *text = Value::String(format!("{}\u{0}", text.as_str().unwrap()));
            assert!(
                !validator(event_type).is_valid(&with_nul),
                "{event_type:?} accepts a NUL"
            );
        }
    }
}
