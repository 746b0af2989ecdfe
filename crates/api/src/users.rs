//! Sign-up, and what staff do to accounts: roles and suspensions.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use resourcify_app::ResourceQuery;
use resourcify_domain::user::Registration;

use crate::ApiError;
use crate::cached::{CachedResponse, PUBLIC_REVALIDATE};
use crate::dto::{
    ListOrder, ModerationReason, NewUser, Profile, RegisteredUser, ResourceList, StaffRole,
};
use crate::extract::{CommandHeaders, ConditionalRead, MinPosition, Page};
use crate::responses::CommandResponse;
use crate::route_names;
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// Accounts and sign-in.
    Users,
    /// Roles and suspensions: administrators and moderators only.
    Staff,
}

#[derive(Debug)]
pub struct UsersApi {
    pub accounts: resourcify_app::Accounts,
    pub moderation: resourcify_app::Moderation,
    pub resources: resourcify_app::Resources,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The account exists; log in with `POST /v1/sessions`.
    #[oai(status = 201)]
    Created(
        Json<RegisteredUser>,
        #[oai(header = "Location")] String,
        #[oai(header = "X-Resourcify-Position")] u64,
    ),
}

#[derive(ApiResponse)]
enum ProfileResponse {
    #[oai(status = 200)]
    Ok(Json<Profile>, #[oai(header = "Cache-Control")] String),
}

#[OpenApi(prefix_path = "/v1")]
impl UsersApi {
    /// Register a new user
    ///
    /// Username and e-mail are reserved atomically, so a duplicate is refused
    /// with 409 even before any view has seen the first registration.
    #[oai(
        path = "/users",
        method = "post",
        operation_id = "register",
        tag = "ApiTags::Users"
    )]
    async fn register(
        &self,
        body: Json<NewUser>,
        meta: CommandHeaders,
    ) -> Result<RegisterResponse, ApiError> {
        let registration = Registration {
            username: &body.username,
            email: &body.email,
            password: body.password.secret(),
        };
        let registered = self.accounts.register(registration, &meta).await?;
        let location = route_names::table().path_to("getUser", &registered.username);
        Ok(RegisterResponse::Created(
            Json(RegisteredUser {
                user_id: registered.user_id,
                username: registered.username,
                position: registered.position,
            }),
            location,
            registered.position,
        ))
    }

    /// A user's public profile
    #[oai(
        path = "/users/:username",
        method = "get",
        operation_id = "getUser",
        tag = "ApiTags::Users"
    )]
    async fn get(
        &self,
        username: Path<String>,
        min_position: MinPosition,
    ) -> Result<ProfileResponse, ApiError> {
        let profile = self.accounts.profile(&username, min_position.0).await?;
        Ok(ProfileResponse::Ok(
            Json(profile.into()),
            PUBLIC_REVALIDATE.to_owned(),
        ))
    }

    /// A user's resources
    ///
    /// The same list as `GET /v1/resources?author={username}`.
    #[oai(
        path = "/users/:username/resources",
        method = "get",
        operation_id = "listUserResources",
        tag = "ApiTags::Users"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn resources(
        &self,
        username: Path<String>,
        /// `new` (default), `top` or `hot`.
        sort: Query<Option<ListOrder>>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        let query = ResourceQuery {
            author: Some(&username),
            sort: sort.0.map(ListOrder::as_str),
            limit: page.limit,
            cursor: page.cursor.as_deref(),
            ..ResourceQuery::default()
        };
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources.list_view(None, query, at, render).await
        })
        .await
    }

    /// Grant a role (administrators only)
    ///
    /// Roles are `moderator` and `admin`; every user is a `member`.
    #[oai(
        path = "/users/:username/roles/:role",
        method = "put",
        operation_id = "grantRole",
        tag = "ApiTags::Staff"
    )]
    async fn grant_role(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        role: Path<StaffRole>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .set_role(&auth.0.actor, &username, role.0.as_str(), true, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Revoke a role (administrators only)
    #[oai(
        path = "/users/:username/roles/:role",
        method = "delete",
        operation_id = "revokeRole",
        tag = "ApiTags::Staff"
    )]
    async fn revoke_role(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        role: Path<StaffRole>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .set_role(&auth.0.actor, &username, role.0.as_str(), false, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Suspend a user (moderators only)
    ///
    /// A suspended user can still read and log in, but change nothing.
    /// Only administrators may suspend moderators and administrators.
    #[oai(
        path = "/users/:username/suspension",
        method = "put",
        operation_id = "suspendUser",
        tag = "ApiTags::Staff"
    )]
    async fn suspend(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        body: Json<ModerationReason>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .set_suspension(&auth.0.actor, &username, Some(&body.reason), &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Reinstate a suspended user (moderators only)
    #[oai(
        path = "/users/:username/suspension",
        method = "delete",
        operation_id = "reinstateUser",
        tag = "ApiTags::Staff"
    )]
    async fn reinstate(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .set_suspension(&auth.0.actor, &username, None, &meta)
            .await?;
        Ok(outcome.into())
    }
}
