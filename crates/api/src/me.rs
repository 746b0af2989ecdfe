//! The caller's own account: profile, password, follows, deletion.

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_app::App;
use resourcify_domain::user::ProfileChange;

use crate::ApiError;
use crate::dto::{PasswordChange, ProfilePatch};
use crate::responses::{CommandResponse, command_meta};
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// The caller's own account.
    Me,
}

#[derive(Debug)]
pub struct MeApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/v1/me", tag = "ApiTags::Me")]
impl MeApi {
    /// Change the public profile
    #[oai(path = "/", method = "patch", operation_id = "updateProfile")]
    async fn update_profile(
        &self,
        auth: BearerAuth,
        body: Json<ProfilePatch>,
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let change = ProfileChange {
            display_name: body.display_name.as_deref(),
            bio: body.bio.as_deref(),
            website: body.website.as_deref(),
        };
        let meta = command_meta(idempotency_key.0);
        Ok(self
            .app
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self.app.delete_account(&auth.0, &meta).await?.into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .change_password(&auth.0, &body.current_password, &body.new_password, &meta)
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self
            .app
            .follow_tag(&auth.0, &tag, true, &meta)
            .await?
            .into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self
            .app
            .follow_tag(&auth.0, &tag, false, &meta)
            .await?
            .into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .follow_user(&auth.0, &username, true, &meta)
            .await?;
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .follow_user(&auth.0, &username, false, &meta)
            .await?;
        Ok(outcome.into())
    }
}
