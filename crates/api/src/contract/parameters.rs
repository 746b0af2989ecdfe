//! Path, query and header parameters checked against their schemas in the
//! document, so that a refused parameter is a 400 naming it (`role`,
//! `limit`, `Last-Event-ID`) with what the document allows, the same for
//! every operation, and never a parse error of the framework that names a
//! Rust type.

use poem::http::HeaderMap;
use serde_json::{Value, json};

use crate::problem::FieldProblem;

/// One documented path, query or header parameter, compiled.
pub(super) struct ParameterCheck {
    name: String,
    place: Place,
    required: bool,
    /// `integer`, `array` or other (a string).
    kind: Kind,
    validator: jsonschema::Validator,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// The index of its segment in the path.
    Path(usize),
    Query,
    Header,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Integer,
    Array,
    Text,
}

impl std::fmt::Debug for ParameterCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParameterCheck")
            .field("name", &self.name)
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

/// The checks of an operation's path and query parameters (`$ref`s to the
/// shared ones resolved).
pub(super) fn compile(document: &Value, path: &str, operation: &Value) -> Vec<ParameterCheck> {
    let segments: Vec<&str> = path.split('/').collect();
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|parameter| {
            let parameter = match parameter["$ref"].as_str() {
                Some(reference) => document.pointer(&reference.replacen('#', "", 1))?,
                None => parameter,
            };
            let name = parameter["name"].as_str()?.to_owned();
            let place = match parameter["in"].as_str()? {
                "query" => Place::Query,
                "header" => Place::Header,
                "path" => {
                    let template = format!("{{{name}}}");
                    Place::Path(segments.iter().position(|s| *s == template)?)
                }
                _ => return None,
            };
            let schema = &parameter["schema"];
            let kind = match schema["type"].as_str() {
                Some("integer") => Kind::Integer,
                Some("array") => Kind::Array,
                _ => Kind::Text,
            };
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "allOf": [schema],
                "components": document["components"],
            });
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&root)
                .expect("the document's parameter schemas compile");
            Some(ParameterCheck {
                name,
                place,
                required: parameter["required"] == true,
                kind,
                validator,
            })
        })
        .collect()
}

/// The names of every header parameter in `checks`.
pub(super) fn header_names(checks: &[ParameterCheck]) -> impl Iterator<Item = &str> {
    checks
        .iter()
        .filter(|check| check.place == Place::Header)
        .map(|check| check.name.as_str())
}

/// What is wrong with the request's parameters, one problem per parameter.
/// `headers` holds at least the operation's header parameters.
pub(super) fn check(
    checks: &[ParameterCheck],
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Vec<FieldProblem> {
    let segments: Vec<&str> = path.split('/').collect();
    let pairs: Vec<(String, String)> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut problems = Vec::new();
    for check in checks {
        let raw: Vec<String> = match check.place {
            Place::Path(index) => segments
                .get(index)
                .map(|s| super::percent_decode(s.as_bytes()))
                .into_iter()
                .collect(),
            Place::Query => pairs
                .iter()
                .filter(|(key, _)| *key == check.name)
                .map(|(_, value)| value.clone())
                .collect(),
            // A value that is not visible ASCII reads as no text at all.
            Place::Header => headers
                .get_all(check.name.as_str())
                .iter()
                .map(|value| value.to_str().unwrap_or("\u{FFFD}").to_owned())
                .collect(),
        };
        let problem = |message: String| FieldProblem {
            field: check.name.clone(),
            pointer: None,
            message,
        };
        // Of a repeated parameter, the first counts, as the server reads it.
        let Some(first) = raw.first() else {
            if check.required {
                problems.push(problem("is required".to_owned()));
            }
            continue;
        };
        let value = match check.kind {
            Kind::Array => Value::Array(raw.iter().cloned().map(Value::String).collect()),
            Kind::Integer => {
                let text = first.trim();
                match (text.parse::<u64>(), text.parse::<i64>()) {
                    (Ok(number), _) => json!(number),
                    (_, Ok(number)) => json!(number),
                    _ => {
                        problems.push(problem("must be a whole number in range".to_owned()));
                        continue;
                    }
                }
            }
            Kind::Text => Value::String(first.clone()),
        };
        if let Some(error) = check.validator.iter_errors(&value).next() {
            let mut refused = super::field_problem(&error);
            refused.field = check.name.clone();
            refused.pointer = None;
            problems.push(refused);
        }
    }
    problems
}
