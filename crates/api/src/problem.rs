//! RFC 9457 problem details: the one place where errors become HTTP.

use poem::http::{Method, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OperationId};
use resourcify_app::AppError;

use crate::route_names;

const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details document (RFC 9457).
#[derive(Debug, Clone, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Problem {
    /// A URI naming the kind of problem; stable across releases.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// For validation problems: every field that was refused, and why.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldProblem>>,
    /// For duplicate submissions: the path of what already exists.
    #[oai(skip_serializing_if_is_none)]
    pub existing: Option<String>,
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Self {
            kind: "https://resourcify.dev/problems/validation".into(),
            title: "The request is invalid".into(),
            status: 422,
            detail: "title: must be 3 to 200 characters".into(),
            errors: Some(vec![FieldProblem {
                field: "title".into(),
                pointer: Some("/title".into()),
                message: "must be 3 to 200 characters".into(),
            }]),
            existing: None,
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FieldProblem {
    /// The field's name, or its path in the body (`tags/2`).
    pub field: String,
    /// Where the refused value is in the request body (RFC 6901 JSON
    /// pointer, `/tags/2`); absent when it is not in the body (a parameter).
    #[oai(skip_serializing_if_is_none)]
    pub pointer: Option<String>,
    /// What is wrong with it; never the value itself.
    pub message: String,
}

fn problem(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: impl Into<String>,
) -> Json<Problem> {
    Json(Problem {
        kind: format!("https://resourcify.dev/problems/{kind}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: None,
        existing: None,
    })
}

/// Every error response of the API.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed (syntax, types, unknown cursor).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, invalid or expired credentials.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// Authenticated, but not allowed: wrong user, missing role, or suspended.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// It does not exist, or the caller may not see it.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The name or thing already exists, the command contradicts its state,
    /// or concurrent changes won the race (reload and retry).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// Well-formed, but some fields break the rules; `errors` lists them.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// The request body is too large.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The request body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// A rate limit was reached; retry after the given seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(
        Json<Problem>,
        #[oai(header = "Retry-After")] u64,
        #[oai(header = "RateLimit-Policy")] String,
        #[oai(header = "RateLimit")] String,
    ),
    /// A view has not caught up yet, or a backing service is down. Retry after the given seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] u64),
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let detail = error.to_string();
        match error {
            AppError::Invalid(errors) => {
                let mut body = problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "The request has invalid fields",
                    detail,
                );
                body.0.errors = Some(
                    errors
                        .0
                        .into_iter()
                        .map(|e| FieldProblem {
                            field: e.field.to_owned(),
                            pointer: None,
                            message: e.message,
                        })
                        .collect(),
                );
                Self::Unprocessable(body)
            }
            AppError::IdempotencyKeyReused => Self::Unprocessable(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                detail,
            )),
            AppError::DuplicateResource { existing } => {
                let mut body = problem(
                    StatusCode::CONFLICT,
                    "duplicate-resource",
                    "Already submitted",
                    detail,
                );
                body.0.existing = Some(route_names::table().path_to("getResource", existing));
                Self::Conflict(body)
            }
            AppError::Conflict(_) => Self::Conflict(problem(
                StatusCode::CONFLICT,
                "conflict",
                "Conflicts with the current state",
                detail,
            )),
            AppError::Forbidden(_) => Self::Forbidden(problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed",
                detail,
            )),
            AppError::NotEnoughKarma { .. } => Self::Forbidden(problem(
                StatusCode::FORBIDDEN,
                "not-enough-karma",
                "Not enough karma",
                detail,
            )),
            AppError::Unauthorized(_) => Self::Unauthorized(
                problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Not authenticated",
                    detail,
                ),
                "Bearer".into(),
            ),
            AppError::NotFound(_) => Self::NotFound(problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                detail,
            )),
            AppError::PositionBeyondHead { .. } => Self::BadRequest(problem(
                StatusCode::BAD_REQUEST,
                "position-beyond-head",
                "No write answered this position",
                detail,
            )),
            AppError::NotYetProjected { .. } => Self::Unavailable(
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not-yet-projected",
                    "The view has not caught up yet",
                    detail,
                ),
                1,
            ),
            AppError::TooManyFailedLogins {
                budget,
                limit,
                window,
                retry_after,
            } => {
                let policy = format!("\"{budget}\";q={limit};w={}", window.as_secs());
                let retry_after = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                Self::rate_limited(detail, retry_after, policy)
            }
            AppError::Contended(_) => Self::Conflict(problem(
                StatusCode::CONFLICT,
                "concurrent-modification",
                "Changed by concurrent requests",
                detail,
            )),
            AppError::Unavailable(_) => Self::Unavailable(
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    detail,
                ),
                5,
            ),
        }
    }
}

impl ApiError {
    pub(crate) fn unavailable(detail: &str) -> Self {
        Self::Unavailable(
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
                detail,
            ),
            5,
        )
    }

    pub(crate) fn too_many_streams(per_client: usize) -> Self {
        Self::TooManyRequests(
            problem(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-streams",
                "Too many open streams",
                format!("a client may hold {per_client} streams open at once"),
            ),
            5,
            format!("\"streams\";q={per_client}"),
            "\"streams\";r=0;t=5".to_owned(),
        )
    }

    pub(crate) fn too_many_requests(
        detail: impl Into<String>,
        retry_after: u64,
        policy: &poem::http::HeaderValue,
    ) -> Self {
        let policy = policy.to_str().unwrap_or_default().to_owned();
        Self::rate_limited(detail, retry_after, policy)
    }

    /// A 429 naming the budget that refused (`policy`, as `RateLimit-Policy`
    /// says it), with nothing left of it until `retry_after` seconds.
    fn rate_limited(detail: impl Into<String>, retry_after: u64, policy: String) -> Self {
        let name = policy.split(';').next().unwrap_or("\"default\"");
        let remaining = format!("{name};r=0;t={retry_after}");
        Self::TooManyRequests(
            problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                detail,
            ),
            retry_after,
            policy,
            remaining,
        )
    }
}

/// Turns every error that did not come from a handler (unparsable JSON, a
/// missing token, an unknown route) into problem+json too. Handler errors
/// already are problem+json and pass through untouched.
pub(crate) async fn from_poem_error(error: poem::Error) -> Response {
    // Keep the route's name for the HTTP metrics.
    let operation = error.data::<OperationId>().copied();
    let mut response = problem_response(error);
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

fn problem_response(error: poem::Error) -> Response {
    if error.is_from_response() {
        return error.into_response();
    }
    let status = error.status();
    let (kind, title) = match status {
        StatusCode::BAD_REQUEST => ("bad-request", "Malformed request"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "Not authenticated"),
        StatusCode::FORBIDDEN => ("forbidden", "Not allowed"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        s if s.is_client_error() => ("client-error", "Request refused"),
        _ => ("internal", "Internal error"),
    };
    if status.is_server_error() {
        tracing::error!(%error, "unhandled server error");
    }
    let detail = if status.is_server_error() {
        "the server failed to answer this request".to_owned()
    } else {
        error.to_string()
    };
    let body = problem(status, kind, title, detail).0;
    let mut response = Json(body).into_response();
    response.set_status(status);
    response.headers_mut().insert(
        poem::http::header::CONTENT_TYPE,
        poem::http::HeaderValue::from_static(PROBLEM_JSON),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            poem::http::header::WWW_AUTHENTICATE,
            poem::http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// Refusals made before any handler runs (see `contract`): problem+json
/// like every other error.
pub(crate) struct Refusal {
    status: StatusCode,
    body: Problem,
    allow: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, kind: &str, title: &str, detail: String) -> Self {
        Self {
            status,
            body: problem(status, kind, title, detail).0,
            allow: None,
        }
    }

    /// A body that is not JSON at all: where it broke, not what it held.
    pub(crate) fn malformed_json(error: &serde_json::Error) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The body is not valid JSON",
            // Parsed into a plain value, only syntax errors arise, and
            // their message says where, never what.
            format!("the body is not valid JSON: {error}"),
        )
    }

    /// NUL or a control character in a path or query parameter.
    pub(crate) fn bad_parameter(place: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            format!("the {place} may not contain NUL or control characters"),
        )
    }

    /// Path or query parameters outside what the document allows.
    pub(crate) fn bad_parameters(errors: Vec<FieldProblem>) -> Self {
        Self::listing(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            "Malformed request",
            errors,
        )
    }

    /// A well-formed body that does not fit its schema.
    pub(crate) fn invalid_fields(errors: Vec<FieldProblem>) -> Self {
        Self::listing(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request has invalid fields",
            errors,
        )
    }

    /// A problem that lists what was refused, its detail saying each.
    fn listing(status: StatusCode, kind: &str, title: &str, errors: Vec<FieldProblem>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut refusal = Self::new(status, kind, title, detail);
        refusal.body.errors = Some(errors);
        refusal
    }

    /// A path that the API has, with another method.
    pub(crate) fn method_not_allowed(method: &Method, allowed: &[Method]) -> Self {
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut refusal = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("{method} is not allowed here; allowed: {allow}"),
        );
        refusal.allow = Some(allow);
        refusal
    }

    pub(crate) fn into_response(self) -> Response {
        let mut response = Json(self.body).into_response();
        response.set_status(self.status);
        let headers = response.headers_mut();
        headers.insert(
            poem::http::header::CONTENT_TYPE,
            poem::http::HeaderValue::from_static(PROBLEM_JSON),
        );
        if let Some(allow) = self.allow.and_then(|a| a.parse().ok()) {
            headers.insert(poem::http::header::ALLOW, allow);
        }
        response
    }
}
