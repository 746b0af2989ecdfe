//! Sign-in, token refresh and sign-out.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use crate::client_address::ClientAddress;
use crate::dto::{LoginRequest, RefreshRequest, SessionTokens};
use crate::extract::{ClientUserAgent, CommandHeaders, MinPosition};
use crate::responses::CommandResponse;
use crate::security::BearerAuth;
use crate::{ApiError, RateLimits};

#[derive(Tags)]
enum ApiTags {
    /// Accounts and sign-in.
    Users,
}

#[derive(Debug)]
pub struct SessionsApi {
    pub sessions: resourcify_app::Sessions,
}

#[derive(ApiResponse)]
enum TokensResponse {
    /// The session's tokens.
    #[oai(status = 200)]
    Ok(
        Json<SessionTokens>,
        /// Tokens are per-user secrets: never stored by caches.
        #[oai(header = "Cache-Control")]
        String,
    ),
}

impl From<resourcify_app::SessionTokens> for TokensResponse {
    fn from(tokens: resourcify_app::SessionTokens) -> Self {
        Self::Ok(Json(tokens.into()), "no-store".to_owned())
    }
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Users")]
impl SessionsApi {
    /// Log in with username or e-mail and password
    ///
    /// Starts a session: a short-lived access token and a refresh token.
    /// Right after registering, pass the registration's position so the
    /// view has the account. The session keeps the `User-Agent` header
    /// (its first 256 characters), shown in `GET /v1/me/sessions`.
    #[oai(path = "/sessions", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: Json<LoginRequest>,
        min_position: MinPosition,
        meta: CommandHeaders,
        user_agent: ClientUserAgent,
        limits: Data<&Arc<RateLimits>>,
        client: ClientAddress,
    ) -> Result<TokensResponse, ApiError> {
        let failures = limits.login_failures_from(client.0);
        let (login, password) = (&body.login, body.password.secret());
        let tokens = self
            .sessions
            .login(
                login,
                password,
                &user_agent.0,
                &failures,
                min_position.0,
                &meta,
            )
            .await?;
        Ok(tokens.into())
    }

    /// Trade a refresh token for new tokens
    ///
    /// A refresh token works once. Presenting a spent one ends its session,
    /// since someone else may hold a copy.
    #[oai(
        path = "/sessions/refresh",
        method = "post",
        operation_id = "refreshSession"
    )]
    async fn refresh(
        &self,
        body: Json<RefreshRequest>,
        meta: CommandHeaders,
    ) -> Result<TokensResponse, ApiError> {
        let tokens = self
            .sessions
            .refresh(body.refresh_token.secret(), &meta)
            .await?;
        Ok(tokens.into())
    }

    /// Log out of this session
    ///
    /// Its tokens are refused from the next request on, on every node.
    #[oai(path = "/sessions/current", method = "delete", operation_id = "logout")]
    async fn log_out(
        &self,
        auth: BearerAuth,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.sessions.log_out(&auth.0, &meta).await?.into())
    }

    /// Log out everywhere
    ///
    /// Ends every session of the caller's, this one included.
    #[oai(
        path = "/sessions",
        method = "delete",
        operation_id = "logoutEverywhere"
    )]
    async fn log_out_everywhere(
        &self,
        auth: BearerAuth,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self
            .sessions
            .log_out_everywhere(&auth.0, &meta)
            .await?
            .into())
    }
}
