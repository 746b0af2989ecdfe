//! The OpenAPI document as the server serves it, and the checks it drives:
//! before any handler runs, the body's size, texts in the path and query,
//! the method, and the JSON body against the operation's schema; after,
//! the framework's refusals of parameters phrased from the document, and a
//! handler's refused fields pointed at in the body. Every operation
//! therefore refuses bad input the same way, and as the document says.

mod document;
mod parameters;

use std::sync::Arc;

use bytes::Bytes;
use poem::http::{Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use resourcify_domain::is_text_char;
use serde_json::Value;

use crate::problem::{FieldProblem, Refusal};
use crate::route_names;

/// More segments than any path of the API has: such a path is no operation.
const MAX_SEGMENTS: usize = 8;

/// The document and what was compiled from it.
#[derive(Debug)]
pub(crate) struct Contract {
    /// `/openapi.json`, serialised once.
    pub(crate) document: Bytes,
    operations: Vec<Operation>,
    /// Every header any operation takes as a parameter: kept aside from
    /// each request that carries one, to name it if the framework refuses it.
    header_parameters: Vec<header::HeaderName>,
}

#[derive(Debug)]
struct Operation {
    /// Its name in the route table (`None` in documents made up by tests).
    route: Option<&'static str>,
    method: Method,
    /// The path template split at `/`; `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
    parameters: Vec<parameters::ParameterCheck>,
    body: Option<BodySchema>,
}

struct BodySchema {
    validator: jsonschema::Validator,
    /// The top-level properties, to point at the fields a handler refuses.
    properties: Vec<String>,
}

impl std::fmt::Debug for BodySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodySchema")
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}

/// Whether an empty segment of a path can be a path parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmptySegments {
    NoMatch,
    AreParameters,
}

/// What the document says of a method and path.
enum Lookup<'a> {
    Found(&'a Operation),
    /// The path exists, with other methods.
    OtherMethods(Vec<Method>),
    /// Not an operation of the document (`/docs`, or an unknown path).
    Unknown,
}

impl Contract {
    /// Completes poem-openapi's document and compiles its body schemas.
    pub(crate) fn new(generated: &str) -> Self {
        let generated: Value =
            serde_json::from_str(generated).expect("poem-openapi writes JSON documents");
        let document = document::complete(generated);
        let mut operations = Vec::new();
        let paths = document["paths"].as_object().into_iter().flatten();
        for (path, methods) in paths {
            for (method, operation) in methods.as_object().into_iter().flatten() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                assert!(
                    path.split('/').count() <= MAX_SEGMENTS,
                    "{path} is longer than lookup splits"
                );
                let route = operation
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(|id| named_route(id, &method, path));
                operations.push(Operation {
                    route,
                    method,
                    segments: path
                        .split('/')
                        .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                        .collect(),
                    parameters: parameters::compile(&document, path, operation),
                    body: body_schema(&document, operation),
                });
            }
        }
        let mut header_parameters: Vec<header::HeaderName> = operations
            .iter()
            .flat_map(|op| parameters::header_names(&op.parameters))
            .filter_map(|name| name.parse().ok())
            .collect();
        header_parameters.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        header_parameters.dedup();
        Self {
            document: Bytes::from(serde_json::to_vec(&document).expect("JSON serialises")),
            operations,
            header_parameters,
        }
    }

    /// Names `response`'s route, unless the routes did: for answers made
    /// before routing, which are looked up here. Not for every request:
    /// the router has found the operation of those it routes.
    pub(crate) fn name(&self, response: &mut Response, request: &Request) {
        if response.data::<OperationId>().is_some() {
            return;
        }
        let path = request.uri().path();
        let route = match self.lookup(request.method(), path) {
            Lookup::Found(operation) => operation.route,
            Lookup::OtherMethods(_) => None,
            Lookup::Unknown => route_names::beside_the_document(path),
        };
        if let Some(route) = route {
            response.set_data(OperationId(route));
        }
    }

    /// The operation of `method` and `path`. A path parameter never
    /// matches an empty segment: `/v1/things/` is no thing's path.
    fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        self.lookup_with(method, path, EmptySegments::NoMatch)
    }

    /// [`Self::lookup`], for a request the router took to an operation
    /// with an empty path parameter (`/v1/things//more`): which operation,
    /// so that the empty parameter is refused by name.
    fn lookup_routed(&self, method: &Method, path: &str) -> Lookup<'_> {
        self.lookup_with(method, path, EmptySegments::AreParameters)
    }

    fn lookup_with(&self, method: &Method, path: &str, empty: EmptySegments) -> Lookup<'_> {
        // Every request passes here: the path is split once, on the stack,
        // and an operation is compared only when its length is the same.
        let mut parts = [""; MAX_SEGMENTS];
        let mut count = 0;
        for part in path.split('/') {
            if count == MAX_SEGMENTS {
                return Lookup::Unknown;
            }
            parts[count] = part;
            count += 1;
        }
        let parts = &parts[..count];
        let matches_path = |op: &&Operation| {
            op.segments.len() == parts.len()
                && op
                    .segments
                    .iter()
                    .zip(parts)
                    .all(|(segment, part)| match segment {
                        Some(literal) => literal == part,
                        None => !part.is_empty() || empty == EmptySegments::AreParameters,
                    })
        };
        let mut others = Vec::new();
        for operation in self.operations.iter().filter(matches_path) {
            if operation.method == method {
                return Lookup::Found(operation);
            }
            others.push(operation.method.clone());
        }
        if others.is_empty() {
            Lookup::Unknown
        } else {
            Lookup::OtherMethods(others)
        }
    }
}

/// The route table's name for the document's operation `id`, which must be
/// there with the same method and path: both are written from the same
/// description, and this holds them to it at start.
fn named_route(id: &str, method: &Method, path: &str) -> &'static str {
    let named = route_names::table()
        .get(id)
        .unwrap_or_else(|| panic!("the route table has no {id}"));
    assert!(
        named.method == method && named.path == path,
        "the route table has {id} at {} {}, the document at {method} {path}",
        named.method,
        named.path
    );
    named.id
}

/// An answer made here for `operation`, named as the routes name theirs.
fn answer_for(operation: &Operation, refusal: Refusal) -> Response {
    let mut response = refusal.into_response();
    if let Some(route) = operation.route {
        response.set_data(OperationId(route));
    }
    response
}

/// The compiled schema of an operation's JSON body, if it takes one.
fn body_schema(document: &Value, operation: &Value) -> Option<BodySchema> {
    let content = operation.pointer("/requestBody/content")?.as_object()?;
    let schema = content
        .iter()
        .find(|(media, _)| media.starts_with("application/json"))?
        .1
        .get("schema")?;
    // The schema's `$ref`s point into the document's components.
    let mut root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": document["components"],
    });
    document::nullable_as_json_schema(&mut root);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("the document's request schemas compile");
    let properties = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| document.pointer(&r.replacen('#', "", 1)))
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    Some(BodySchema {
        validator,
        properties,
    })
}

/// The checks, around the routes (with the body size limit, in one layer).
pub(crate) async fn check<E: Endpoint>(
    next: E,
    mut request: Request,
    max_body: usize,
    contract: Option<Arc<Contract>>,
) -> poem::Result<Response> {
    use crate::middleware::body_limit;
    let Some(contract) = contract else {
        body_limit::enforce(&mut request, max_body).await?;
        return next.call(request).await.map(IntoResponse::into_response);
    };
    // Refusals made before routing are named here, for the metrics.
    if let Err(error) = body_limit::enforce(&mut request, max_body).await {
        let mut response = crate::problem::from_poem_error(error).await;
        contract.name(&mut response, &request);
        return Ok(response);
    }
    if let Some(refusal) = control_characters(&request) {
        let mut response = refusal.into_response();
        contract.name(&mut response, &request);
        return Ok(response);
    }
    // A clone of the URI shares its bytes; it outlives the request.
    let uri = request.uri().clone();
    let method = request.method().clone();
    // Most requests carry none: then nothing is allocated.
    let mut parameter_headers = header::HeaderMap::new();
    for name in &contract.header_parameters {
        for value in request.headers().get_all(name) {
            parameter_headers.append(name.clone(), value.clone());
        }
    }
    // Only a request that may carry a body needs its operation before the
    // handler; reads find theirs only when they are refused, so a warm
    // read pays for no lookup.
    let carries_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
    let operation = match carries_body.then(|| contract.lookup(&method, uri.path())) {
        Some(Lookup::Found(operation)) => Some(operation),
        Some(Lookup::OtherMethods(allowed)) => {
            return Ok(Refusal::method_not_allowed(&method, &allowed).into_response());
        }
        Some(Lookup::Unknown) | None => None,
    };
    let answer = match operation.and_then(|op| op.body.as_ref().map(|schema| (op, schema))) {
        // Boxed: its state (the body, its value) would otherwise make the
        // future of every request, reads too, larger to create and move.
        Some((operation, schema)) => Box::pin(check_body(next, request, operation, schema)).await,
        None => next.call(request).await.map(IntoResponse::into_response),
    };
    let Err(error) = answer else {
        return answer;
    };
    let found = || match operation {
        Some(operation) => Lookup::Found(operation),
        None => contract.lookup(&method, uri.path()),
    };
    match error.status() {
        StatusCode::METHOD_NOT_ALLOWED => match found() {
            Lookup::OtherMethods(allowed) => {
                Ok(Refusal::method_not_allowed(&method, &allowed).into_response())
            }
            _ => Err(error),
        },
        // What the document states of parameters, the framework and the
        // shared extractors enforce as they parse (and the text rule is
        // checked above). When they refuse one, the answer is phrased from
        // the document: each parameter named, with what it allows.
        StatusCode::BAD_REQUEST if !error.is_from_response() => {
            let routed = match operation {
                Some(operation) => Lookup::Found(operation),
                None => contract.lookup_routed(&method, uri.path()),
            };
            let Lookup::Found(operation) = routed else {
                return Err(error);
            };
            let refused = parameters::check(
                &operation.parameters,
                uri.path(),
                uri.query(),
                &parameter_headers,
            );
            if refused.is_empty() {
                Err(error)
            } else {
                Ok(answer_for(operation, Refusal::bad_parameters(refused)))
            }
        }
        _ => Err(error),
    }
}

/// The JSON body against the operation's schema, then the handler.
async fn check_body<E: Endpoint>(
    next: E,
    mut request: Request,
    operation: &Operation,
    schema: &BodySchema,
) -> poem::Result<Response> {
    // Without credentials the answer is 401 whatever the body; and a body
    // that is not JSON is poem's to refuse with 415.
    let is_json = request
        .header(header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            let media = media.trim();
            media.eq_ignore_ascii_case("application/json") || media.ends_with("+json")
        });
    if !is_json {
        return next.call(request).await.map(IntoResponse::into_response);
    }
    let bytes = request.take_body().into_bytes().await?;
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(error) => return Ok(answer_for(operation, Refusal::malformed_json(&error))),
    };
    let problems: Vec<FieldProblem> = schema
        .validator
        .iter_errors(&value)
        .map(|error| field_problem(&error))
        .collect();
    if !problems.is_empty() {
        return Ok(answer_for(operation, Refusal::invalid_fields(problems)));
    }
    request.set_body(Body::from_bytes(bytes));
    // A handler's refusal arrives as an error: made a response here (as the
    // outer layer would, keeping its route for the metrics) to point at
    // the body's fields.
    match next.call(request).await {
        Ok(response) => Ok(response.into_response()),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let response = crate::problem::from_poem_error(error).await;
            Ok(point_at_body_fields(response, &schema.properties).await)
        }
        // The body met its schema, yet the framework could not read it: a
        // whole number written as `1e2` or `100.0`, which JSON Schema takes
        // as an integer, or one beyond 64 bits. Said per field, as the
        // schema's refusals are, never in the framework's words.
        Err(error) if error.status() == StatusCode::BAD_REQUEST && !error.is_from_response() => {
            let unreadable = unreadable_numbers(&value, &mut String::new());
            if unreadable.is_empty() {
                Err(error)
            } else {
                Ok(answer_for(operation, Refusal::invalid_fields(unreadable)))
            }
        }
        Err(error) => Err(error),
    }
}

/// The numbers in `value` that are not whole numbers of 64 bits as written
/// (every number a request body takes is one), by JSON pointer.
fn unreadable_numbers(value: &Value, pointer: &mut String) -> Vec<FieldProblem> {
    let mut found = Vec::new();
    let mut descend = |key: &str, child: &Value, pointer: &mut String| {
        let length = pointer.len();
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        found.extend(unreadable_numbers(child, pointer));
        pointer.truncate(length);
    };
    match value {
        Value::Number(number) if number.as_i64().is_none() && number.as_u64().is_none() => {
            found.push(FieldProblem {
                field: pointer.trim_start_matches('/').to_owned(),
                pointer: Some(pointer.clone()),
                message: "must be a whole number in range, written without a fraction or an \
                          exponent"
                    .to_owned(),
            });
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                descend(&index.to_string(), item, pointer);
            }
        }
        Value::Object(fields) => {
            for (key, field) in fields {
                descend(key, field, pointer);
            }
        }
        _ => {}
    }
    found
}

/// NUL and control characters in the path or the query: refused before any
/// handler (or Postgres, which cannot store NUL) sees them.
fn control_characters(request: &Request) -> Option<Refusal> {
    let uri = request.uri();
    // A URI carries control characters only percent-encoded, so a part
    // without `%` is clean: most requests are checked without decoding.
    let decoded = |raw: &str| {
        raw.contains('%')
            && percent_decode(raw.as_bytes())
                .chars()
                .any(|c| !is_text_char(c, false))
    };
    let in_path = decoded(uri.path());
    let in_query = uri.query().is_some_and(decoded);
    (in_path || in_query).then(|| Refusal::bad_parameter(if in_path { "path" } else { "query" }))
}

/// `raw` with every `%XX` escape decoded, all of it: a query's later
/// parameters and its names too, and a path's `&` and `+` as they are.
/// Bytes that are not UTF-8 read as U+FFFD.
fn percent_decode(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let escaped = match raw.get(i + 1..i + 3) {
            Some(&[high, low]) if raw[i] == b'%' => hex(high).zip(hex(low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                bytes.push(high << 4 | low);
                i += 3;
            }
            None => {
                bytes.push(raw[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One schema violation, said without echoing the value or naming a type
/// of the code.
fn field_problem(error: &jsonschema::ValidationError<'_>) -> FieldProblem {
    use jsonschema::error::ValidationErrorKind as Kind;
    let mut pointer = error.instance_path().as_str().to_owned();
    let message = match error.kind() {
        Kind::Required { property } => {
            pointer = format!("{pointer}/{}", property.as_str().unwrap_or_default());
            "is required".to_owned()
        }
        Kind::AdditionalProperties { unexpected } => {
            if let [one] = unexpected.as_slice() {
                pointer = format!("{pointer}/{one}");
                "is not a field of this request".to_owned()
            } else {
                format!("has unknown fields: {}", unexpected.join(", "))
            }
        }
        Kind::Type { kind } => format!("must be of type {}", type_names(kind)),
        Kind::Enum { options } => format!("must be one of {options}"),
        Kind::MinLength { limit } => format!("must be at least {limit} characters"),
        Kind::MaxLength { limit } => format!("must be at most {limit} characters"),
        Kind::MinItems { limit } => format!("must have at least {limit} items"),
        Kind::MaxItems { limit } => format!("must have at most {limit} items"),
        Kind::Minimum { limit } => format!("must be at least {limit}"),
        Kind::Maximum { limit } => format!("must be at most {limit}"),
        Kind::Pattern { pattern }
            if pattern == resourcify_domain::SINGLE_LINE_PATTERN
                || pattern == resourcify_domain::MULTI_LINE_PATTERN =>
        {
            "may not contain NUL or control characters".to_owned()
        }
        Kind::Pattern { pattern } if pattern.contains(resourcify_domain::resource::URL_PATTERN) => {
            "must be an absolute http or https URL, without spaces".to_owned()
        }
        Kind::Pattern { pattern } if pattern == resourcify_domain::user::EMAIL_PATTERN => {
            "is not an e-mail address".to_owned()
        }
        Kind::Pattern { pattern } => format!("must match {pattern}"),
        Kind::Format { format } => format!("must be a valid {format}"),
        _ => error.masked().to_string(),
    };
    let field = pointer.trim_start_matches('/').to_owned();
    FieldProblem {
        field: if field.is_empty() {
            "body".to_owned()
        } else {
            field
        },
        pointer: Some(pointer),
        message,
    }
}

fn type_names(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    match kind {
        TypeKind::Single(ty) => ty.to_string(),
        TypeKind::Multiple(types) => types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// A handler's 422 names fields as the domain knows them (`title`); where
/// such a field is a property of the body, the problem also points at it.
async fn point_at_body_fields(response: Response, properties: &[String]) -> Response {
    let operation = response.data::<OperationId>().copied();
    let (parts, body) = response.into_parts();
    let Ok(bytes) = body.into_bytes().await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut problem) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from_bytes(bytes));
    };
    let mut changed = false;
    for error in problem
        .get_mut("errors")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let field = error.get("field").and_then(Value::as_str).unwrap_or("");
        if error.get("pointer").is_none() && properties.iter().any(|p| p == field) {
            let pointer = format!("/{field}");
            error["pointer"] = Value::String(pointer);
            changed = true;
        }
    }
    let bytes = if changed {
        Bytes::from(serde_json::to_vec(&problem).expect("JSON serialises"))
    } else {
        bytes
    };
    let mut response = Response::from_parts(parts, Body::from_bytes(bytes));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

#[cfg(test)]
mod tests;
