//! The caller's own account: profile, password, follows, deletion.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_domain::user::ProfileChange;

use crate::cached::PrivateResponse;
use crate::dto::{Account, PasswordChange, ProfilePatch, ResourceList};
use crate::extract::{CommandHeaders, MinPosition, Page};
use crate::responses::CommandResponse;
use crate::security::BearerAuth;
use crate::{ApiError, RateLimits};

#[derive(Tags)]
enum ApiTags {
    /// The caller's own account.
    Me,
}

#[derive(Debug)]
pub struct MeApi {
    pub accounts: resourcify_app::Accounts,
    pub follows: resourcify_app::Follows,
    pub resources: resourcify_app::Resources,
}

#[OpenApi(prefix_path = "/v1/me", tag = "ApiTags::Me")]
impl MeApi {
    /// One's own account: profile, roles, follows
    #[oai(path = "/", method = "get", operation_id = "getMe")]
    async fn get(
        &self,
        auth: BearerAuth,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<Account>, ApiError> {
        let account = self.accounts.account(&auth.0, min_position.0).await?;
        Ok(PrivateResponse::one(account.into()))
    }

    /// One's bookmarks, newest first
    #[oai(path = "/bookmarks", method = "get", operation_id = "listBookmarks")]
    async fn bookmarks(
        &self,
        auth: BearerAuth,
        page: Page,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<ResourceList>, ApiError> {
        let bookmarks = self
            .resources
            .bookmarks(&auth.0, page.request(), min_position.0)
            .await?;
        Ok(PrivateResponse::page(bookmarks, &page))
    }

    /// One's feed: resources with a followed tag or by a followed user, newest first
    #[oai(path = "/feed", method = "get", operation_id = "personalFeed")]
    async fn feed(
        &self,
        auth: BearerAuth,
        page: Page,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<ResourceList>, ApiError> {
        let feed = self
            .follows
            .feed(&auth.0, page.request(), min_position.0)
            .await?;
        Ok(PrivateResponse::page(feed, &page))
    }

    /// Change the public profile
    #[oai(path = "/", method = "patch", operation_id = "updateProfile")]
    async fn update_profile(
        &self,
        auth: BearerAuth,
        body: Json<ProfilePatch>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let change = ProfileChange {
            display_name: body.display_name.as_deref(),
            bio: body.bio.as_deref(),
            website: body.website.as_deref(),
        };
        Ok(self
            .accounts
            .update_profile(&auth.0, change, &meta)
            .await?
            .into())
    }

    /// Delete the account
    ///
    /// Personal data leaves every view and every session ends. Resources and
    /// comments stay, shown as a deleted user's.
    #[oai(path = "/", method = "delete", operation_id = "deleteAccount")]
    async fn delete_account(
        &self,
        auth: BearerAuth,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.accounts.delete_account(&auth.0, &meta).await?.into())
    }

    /// Change the password
    ///
    /// Needs the current password. Every session ends, this one included:
    /// log in again with the new password.
    #[oai(path = "/password", method = "put", operation_id = "changePassword")]
    async fn change_password(
        &self,
        auth: BearerAuth,
        body: Json<PasswordChange>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .accounts
            .change_password(
                &auth.0,
                body.current_password.secret(),
                body.new_password.secret(),
                &meta,
            )
            .await?;
        Ok(outcome.into())
    }

    /// Follow a tag
    #[oai(
        path = "/followed-tags/:tag",
        method = "put",
        operation_id = "followTag"
    )]
    async fn follow_tag(
        &self,
        auth: BearerAuth,
        tag: Path<String>,
        meta: CommandHeaders,
        limits: Data<&Arc<RateLimits>>,
    ) -> Result<CommandResponse, ApiError> {
        limits.check_follow(auth.0.user_id)?;
        Ok(self.follows.tag(&auth.0, &tag, true, &meta).await?.into())
    }

    /// Stop following a tag
    #[oai(
        path = "/followed-tags/:tag",
        method = "delete",
        operation_id = "unfollowTag"
    )]
    async fn unfollow_tag(
        &self,
        auth: BearerAuth,
        tag: Path<String>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.follows.tag(&auth.0, &tag, false, &meta).await?.into())
    }

    /// Follow a user
    #[oai(
        path = "/followed-users/:username",
        method = "put",
        operation_id = "followUser"
    )]
    async fn follow_user(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        meta: CommandHeaders,
        limits: Data<&Arc<RateLimits>>,
    ) -> Result<CommandResponse, ApiError> {
        limits.check_follow(auth.0.user_id)?;
        let outcome = self.follows.user(&auth.0, &username, true, &meta).await?;
        Ok(outcome.into())
    }

    /// Stop following a user
    #[oai(
        path = "/followed-users/:username",
        method = "delete",
        operation_id = "unfollowUser"
    )]
    async fn unfollow_user(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self.follows.user(&auth.0, &username, false, &meta).await?;
        Ok(outcome.into())
    }
}
