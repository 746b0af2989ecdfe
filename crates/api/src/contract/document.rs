//! What poem-openapi cannot say in the document by itself, added once at
//! start: the text rule on every string a client sends, `additionalProperties:
//! false` on request bodies, the stream's repeatable `tag`. The server then
//! validates requests against this same document, so the two cannot differ.

use resourcify_app::CURSOR_PATTERN;
use resourcify_domain::resource::{
    DESCRIPTION_MAX_CHARS, TAG_MAX_CHARS, TAG_PATTERN, TAGS_PER_RESOURCE, TITLE_CHARS, URL_MAX_LEN,
    URL_PATTERN,
};
use resourcify_domain::user::{EMAIL_MAX_CHARS, EMAIL_PATTERN};
use resourcify_domain::{MULTI_LINE_FIELDS, MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN};
use serde_json::{Map, Value, json};

/// The finished document.
pub(crate) fn complete(mut document: Value) -> Value {
    bound_integers(&mut document);
    let request_schemas = request_body_schemas(&document);
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in &request_schemas {
            if let Some(schema) = schemas.get_mut(name) {
                close_request_schema(schema);
            }
        }
        for (schema, field) in NULLABLE_REQUEST_FIELDS {
            if let Some(property) = schemas
                .get_mut(*schema)
                .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
                .and_then(Value::as_object_mut)
            {
                property.insert("nullable".into(), Value::Bool(true));
            }
        }
    }
    add_shared_parameters(&mut document);
    add_links(&mut document);
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|ops| ops.values_mut())
        {
            complete_parameters(operation);
            describe_event_streams(operation);
        }
    }
    document
}

/// poem-openapi calls an event stream an array of its messages; on the wire
/// it is a sequence of SSE events, each with a `data` line holding one
/// message as JSON. Each event is described, as OpenAPI 3.2's `itemSchema`
/// does and as stream-aware tools (schemathesis) read it.
fn describe_event_streams(operation: &mut Value) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for media in responses
        .values_mut()
        .filter_map(|r| r.get_mut("content"))
        .filter_map(|c| c.get_mut("text/event-stream"))
    {
        let Some(message) = media.pointer("/schema/items").cloned() else {
            continue;
        };
        media["schema"] = json!({
            "type": "object",
            "description": "One Server-Sent Event. The stream opens with a `retry` advice; \
                keep-alive comments carry nothing.",
            "properties": {
                "event": {"type": "string", "description": "The message's `type`."},
                "id": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "The stream position: send it back as `Last-Event-ID`."
                },
                "data": {
                    "type": "string",
                    "description": "The message as JSON.",
                    "contentMediaType": "application/json",
                    "contentSchema": message
                },
                "retry": {"type": "integer", "minimum": 0}
            }
        });
    }
}

/// Request fields whose `null` means "clear it" (poem-openapi's
/// `MaybeUndefined`), which poem-openapi documents as plain strings.
const NULLABLE_REQUEST_FIELDS: &[(&str, &str)] = &[("NewsSourcePatch", "title")];

/// OpenAPI 3.0's `nullable` as JSON Schema says it (`"type": [t, "null"]`),
/// for the validator, which reads plain JSON Schema.
pub(crate) fn nullable_as_json_schema(value: &mut Value) {
    match value {
        Value::Object(schema) => {
            if schema.get("nullable") == Some(&Value::Bool(true))
                && let Some(ty) = schema.get("type").cloned()
                && ty.is_string()
            {
                schema.insert("type".into(), json!([ty, "null"]));
            }
            schema.values_mut().for_each(nullable_as_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_as_json_schema),
        _ => {}
    }
}

/// The component schemas that request bodies name.
fn request_body_schemas(document: &Value) -> Vec<String> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut names: Vec<String> = paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|ops| ops.values())
        .filter_map(|op| op.pointer("/requestBody/content"))
        .filter_map(Value::as_object)
        .flat_map(|content| content.values())
        .filter_map(|media| media.pointer("/schema/$ref"))
        .filter_map(Value::as_str)
        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A request body refuses fields it does not know (a misspelt optional
/// field would otherwise be ignored without a word), and each of its texts
/// follows the text rule.
fn close_request_schema(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    object.insert("additionalProperties".into(), Value::Bool(false));
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            add_resource_rules(name, property);
            let multiline = MULTI_LINE_FIELDS.contains(&name.as_str());
            add_text_rule(property, multiline);
            if let Some(items) = property.get_mut("items") {
                add_text_rule(items, multiline);
            }
        }
    }
}

/// The rules of the fields a resource (or a news source) is made of, stated
/// from the domain's own constants wherever a body has such a field: a
/// title, a description, tags, a link (`url`; a profile's `website`, which
/// may be empty to clear it); and an account's `email`.
fn add_resource_rules(field: &str, property: &mut Value) {
    let rules = match field {
        "title" => json!({"minLength": TITLE_CHARS.start(), "maxLength": TITLE_CHARS.end()}),
        "description" => json!({"maxLength": DESCRIPTION_MAX_CHARS}),
        "url" => json!({"maxLength": URL_MAX_LEN, "pattern": URL_PATTERN}),
        "email" => json!({"maxLength": EMAIL_MAX_CHARS, "pattern": EMAIL_PATTERN}),
        "website" => json!({"maxLength": URL_MAX_LEN, "pattern": format!("^$|{URL_PATTERN}")}),
        "tags" => {
            property["items"]["maxLength"] = json!(TAG_MAX_CHARS);
            property["items"]["pattern"] = json!(TAG_PATTERN);
            json!({"minItems": TAGS_PER_RESOURCE.start(), "maxItems": TAGS_PER_RESOURCE.end()})
        }
        _ => return,
    };
    if let (Some(property), Value::Object(rules)) = (property.as_object_mut(), rules) {
        property.extend(rules);
    }
}

/// Query and path parameters: one line of text each; the stream's `tag` is
/// optional and repeatable, as the server takes it.
fn complete_parameters(operation: &mut Value) {
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters.iter_mut().filter_map(Value::as_object_mut) {
        let place = parameter.get("in").and_then(Value::as_str).unwrap_or("");
        if !matches!(place, "query" | "path") {
            continue;
        }
        let is_array = parameter
            .get("schema")
            .and_then(|schema| schema.get("type"))
            == Some(&json!("array"));
        if is_array {
            // A list in the query is the parameter repeated, or absent.
            parameter.insert("required".into(), Value::Bool(false));
            parameter.insert("style".into(), json!("form"));
            parameter.insert("explode".into(), Value::Bool(true));
        }
        if let Some(schema) = parameter.get_mut("schema") {
            add_text_rule(schema, false);
            if let Some(items) = schema.get_mut("items") {
                add_text_rule(items, false);
            }
        }
    }
}

/// Adds the text rule to a plain string schema (not one with a format, an
/// enum or a pattern of its own, which already say more; `password` is a
/// format that says only how to show it, and is text like any other).
fn add_text_rule(schema: &mut Value, multiline: bool) {
    let Some(schema): Option<&mut Map<String, Value>> = schema.as_object_mut() else {
        return;
    };
    let plain = schema.get("type") == Some(&json!("string"))
        && schema.get("format").is_none_or(|f| f == "password")
        && !["enum", "pattern"].iter().any(|k| schema.contains_key(*k));
    if plain {
        let pattern = if multiline {
            MULTI_LINE_PATTERN
        } else {
            SINGLE_LINE_PATTERN
        };
        schema.insert("pattern".into(), Value::String(pattern.to_owned()));
    }
}

/// Integer schemas say the range of their Rust type, which poem-openapi
/// states only as a `format`: a negative count is out of range, not a
/// malformed request.
fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(schema) => {
            let bounds = match (
                schema.get("type").and_then(Value::as_str),
                schema.get("format").and_then(Value::as_str),
            ) {
                (Some("integer"), Some("uint64")) => Some((json!(0), None)),
                (Some("integer"), Some("uint32")) => Some((json!(0), Some(json!(u32::MAX)))),
                (Some("integer"), Some("int32")) => Some((json!(i32::MIN), Some(json!(i32::MAX)))),
                _ => None,
            };
            if let Some((minimum, maximum)) = bounds {
                schema.entry("minimum").or_insert(minimum);
                if let Some(maximum) = maximum {
                    schema.entry("maximum").or_insert(maximum);
                }
            }
            schema.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// What a created thing's answer leads to (OpenAPI links): the operations
/// that take its id or name, with the position to read it at. Clients and
/// stateful fuzzers follow them from a creation to everything done with it.
const LINKS: &[(&str, &str, &[&str])] = &[
    (
        "submitResource",
        "id",
        &[
            "getResource",
            "editResource",
            "retractResource",
            "upvote",
            "withdrawUpvote",
            "bookmark",
            "removeBookmark",
            "hideResource",
            "restoreResource",
            "listComments",
            "postComment",
            "getResourceHistory",
            "flagResource",
            "withdrawResourceFlag",
            "keepResource",
        ],
    ),
    (
        "postComment",
        "id",
        &[
            "getComment",
            "editComment",
            "deleteComment",
            "removeComment",
            "voteComment",
            "withdrawCommentVote",
            "flagComment",
            "withdrawCommentFlag",
            "keepComment",
        ],
    ),
    (
        "addNewsSource",
        "id",
        &[
            "getNewsSource",
            "editNewsSource",
            "removeNewsSource",
            "refreshNewsSource",
        ],
    ),
    (
        "register",
        "username",
        &[
            "getUser",
            "listUserResources",
            "userFeedAtom",
            "followUser",
            "unfollowUser",
            "grantRole",
            "revokeRole",
            "suspendUser",
            "reinstateUser",
        ],
    ),
];

fn add_links(document: &mut Value) {
    let mut by_id: std::collections::HashMap<String, (String, String)> = Default::default();
    let mut takes_position: std::collections::HashSet<String> = Default::default();
    for (path, methods) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in methods.as_object().into_iter().flatten() {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            by_id.insert(id.to_owned(), (path.clone(), method.clone()));
            let parameters = operation["parameters"].as_array().into_iter().flatten();
            let waits = |p: &Value| p["$ref"] == "#/components/parameters/MinPosition";
            if parameters.clone().any(waits) {
                takes_position.insert(id.to_owned());
            }
        }
    }
    for (source, field, targets) in LINKS {
        let Some((path, method)) = by_id.get(*source) else {
            continue;
        };
        let links: Map<String, Value> = targets
            .iter()
            .filter(|target| by_id.contains_key(**target))
            .map(|target| {
                let mut parameters = json!({ *field: format!("$response.body#/{field}") });
                if takes_position.contains(*target) {
                    parameters["min_position"] = json!("$response.body#/position");
                }
                (
                    (*target).to_owned(),
                    json!({"operationId": target, "parameters": parameters}),
                )
            })
            .collect();
        let responses = &mut document["paths"][path][method]["responses"];
        if let Some(created) = responses.as_object_mut().and_then(|r| {
            r.iter_mut()
                .find(|(status, _)| status.starts_with('2'))
                .map(|(_, response)| response)
        }) {
            created["links"] = Value::Object(links);
        }
    }
}

/// The writes that also wait for a position: the log-in reads the users
/// view to find the account a registration just created; a flag reads the
/// flagger's karma from the resources and comments views.
const WRITES_THAT_READ: &[&str] = &["login", "flagResource", "flagComment"];

/// The writes that append nothing and take no `Idempotency-Key`: a stream
/// ticket is a secret issued anew each time (ADR 22); a retry gets another,
/// and the one whose answer was lost expires unused.
const WRITES_WITHOUT_A_KEY: &[&str] = &["createNotificationStreamTicket"];

/// The parameters of `crate::extract`, declared once under
/// `components/parameters` and named by every operation that takes them:
/// every write takes an `Idempotency-Key` (its handler builds its command
/// with one); every read of a view, a position to wait for; every list, a
/// page; every view answered with an ETag (and so a 304), the client's
/// ETags. A test asks each operation that documents a position or a page to
/// honour it.
fn add_shared_parameters(document: &mut Value) {
    use crate::extract::{
        IDEMPOTENCY_KEY, IF_NONE_MATCH, MIN_POSITION_HEADER, MIN_POSITION_QUERY, PAGE_LIMIT_MAX,
    };
    let position = json!({"type": "integer", "format": "uint64", "minimum": 0});
    document["components"]["parameters"] = json!({
        "IdempotencyKey": {
            "name": IDEMPOTENCY_KEY, "in": "header", "required": false,
            "description": "Makes a retried request safe: the same key with the same \
                request appends nothing twice and answers as the first did (for a day); \
                with another request, 422. Keys are per user (per login for sign-ins).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
        },
        "MinPosition": {
            "name": MIN_POSITION_QUERY, "in": "query", "required": false,
            "description": "Wait (up to a few seconds) until the view includes this \
                position, the `position` a write answered. Beyond the head of the log: 400.",
            "schema": position
        },
        "MinPositionHeader": {
            "name": MIN_POSITION_HEADER, "in": "header", "required": false,
            "description": "The same as `min_position`; the larger of the two is waited for.",
            "schema": position
        },
        "IfNoneMatch": {
            "name": IF_NONE_MATCH, "in": "header", "required": false,
            "description": "Answers 304 when the view still has this ETag.",
            "schema": {"type": "string"}
        },
        "Limit": {
            "name": "limit", "in": "query", "required": false,
            "description": "Page size.",
            "schema": {"type": "integer", "format": "uint32", "minimum": 1,
                       "maximum": PAGE_LIMIT_MAX, "default": 20}
        },
        "Cursor": {
            "name": "cursor", "in": "query", "required": false,
            "description": "`next_cursor` of the previous page (opaque; it belongs to its \
                list and order).",
            // Its alphabet, so that a client can tell a cursor from other
            // text; only the server can tell which are its own.
            "schema": {"type": "string", "minLength": 1, "pattern": CURSOR_PATTERN}
        }
    });
    let pages: std::collections::HashSet<String> = document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema.pointer("/properties/next_cursor").is_some())
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, methods) in paths.iter_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        for (method, operation) in methods.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap_or("").to_owned();
            let write = matches!(method.as_str(), "post" | "put" | "patch" | "delete");
            let streams = operation
                .pointer("/responses/200/content/text~1event-stream")
                .is_some();
            let lists = operation
                .pointer("/responses/200/content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(_, media)| media.pointer("/schema/$ref").and_then(Value::as_str))
                .any(|r| pages.contains(r));
            let mut shared = Vec::new();
            if write && !WRITES_WITHOUT_A_KEY.contains(&id.as_str()) {
                shared.push("IdempotencyKey");
            }
            if (!write && !streams) || WRITES_THAT_READ.contains(&id.as_str()) {
                shared.extend(["MinPosition", "MinPositionHeader"]);
            }
            if lists {
                shared.extend(["Limit", "Cursor"]);
            }
            if operation.pointer("/responses/304").is_some() {
                shared.push("IfNoneMatch");
            }
            if shared.is_empty() {
                continue;
            }
            let parameters = operation
                .as_object_mut()
                .expect("an operation is an object")
                .entry("parameters")
                .or_insert_with(|| json!([]));
            if let Some(parameters) = parameters.as_array_mut() {
                parameters.extend(
                    shared
                        .iter()
                        .map(|name| json!({"$ref": format!("#/components/parameters/{name}")})),
                );
            }
        }
    }
}
