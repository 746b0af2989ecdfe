//! Sign-in.

use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use resourcify_app::App;

use std::sync::Arc;

use crate::dto::{LoginRequest, SessionToken, min_position};
use crate::{ApiError, RateLimits};

#[derive(Tags)]
enum ApiTags {
    /// Accounts and sign-in.
    Users,
}

#[derive(Debug)]
pub struct SessionsApi {
    pub app: App,
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Credentials accepted.
    #[oai(status = 200)]
    Ok(
        Json<SessionToken>,
        /// Tokens are per-user secrets: never stored by caches.
        #[oai(header = "Cache-Control")]
        String,
    ),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Users")]
impl SessionsApi {
    /// Log in with username or e-mail and password
    ///
    /// Credentials are checked against the users view. Right after
    /// registering, pass the registration's position so the view has it.
    #[oai(path = "/sessions", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: Json<LoginRequest>,
        #[oai(name = "X-Resourcify-Min-Position")] min_position_header: Header<Option<u64>>,
        /// Same as the `X-Resourcify-Min-Position` header.
        #[oai(name = "min_position")]
        min_position_query: Query<Option<u64>>,
        limits: Data<&Arc<RateLimits>>,
    ) -> Result<LoginResponse, ApiError> {
        limits.check_login_account(&body.login)?;
        let position = min_position(min_position_header.0, min_position_query.0);
        let token = self
            .app
            .login(&body.login, &body.password, position)
            .await?;
        Ok(LoginResponse::Ok(
            Json(SessionToken {
                access_token: token.token,
                token_type: "Bearer".into(),
                expires_in: token.expires_in.as_secs(),
            }),
            "no-store".to_owned(),
        ))
    }
}
