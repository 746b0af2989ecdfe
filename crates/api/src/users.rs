//! Sign-up.

use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use resourcify_app::{App, CommandMeta};
use resourcify_domain::user::Registration;

use crate::ApiError;
use crate::dto::{NewUser, RegisteredUser};

#[derive(Tags)]
enum ApiTags {
    /// Accounts and sign-in.
    Users,
}

#[derive(Debug)]
pub struct UsersApi {
    pub app: App,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The account exists; the body carries its first access token.
    #[oai(status = 201)]
    Created(
        Json<RegisteredUser>,
        #[oai(header = "Location")] String,
        #[oai(header = "X-Resourcify-Position")] u64,
    ),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Register a new user
    ///
    /// Username and e-mail are reserved atomically, so a duplicate is refused
    /// with 409 even before any view has seen the first registration.
    #[oai(path = "/users", method = "post", operation_id = "register")]
    async fn register(
        &self,
        body: Json<NewUser>,
        /// Makes a retried request safe: the same key registers one account.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<RegisterResponse, ApiError> {
        let registration = Registration {
            username: &body.username,
            email: &body.email,
            password: &body.password,
        };
        let registered = self
            .app
            .register(registration, &command_meta(idempotency_key.0))
            .await?;
        let location = format!("/v1/users/{}", registered.username);
        Ok(RegisterResponse::Created(
            Json(RegisteredUser {
                user_id: registered.user_id,
                username: registered.username,
                access_token: registered.token.token,
                position: registered.position,
            }),
            location,
            registered.position,
        ))
    }
}

/// What every command carries besides its body.
pub(crate) fn command_meta(idempotency_key: Option<String>) -> CommandMeta {
    CommandMeta {
        idempotency_key,
        request_id: crate::current_request_id(),
    }
}
