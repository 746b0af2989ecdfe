//! Bearer-token authentication for the operations that need a user.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use resourcify_app::{AuthenticatedUser, Sessions};

use crate::ApiError;

/// An access token from `POST /v1/sessions` or `POST /v1/sessions/refresh`.
#[derive(Debug, SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_token")]
pub struct BearerAuth(pub AuthenticatedUser);

async fn check_token(request: &Request, bearer: Bearer) -> poem::Result<AuthenticatedUser> {
    let sessions = request
        .data::<Sessions>()
        .expect("routes() attaches the sessions service to every request");
    sessions
        .authenticate(&bearer.token)
        .await
        .map_err(|e| ApiError::from(e).into())
}
