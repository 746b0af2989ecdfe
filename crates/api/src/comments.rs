//! Comments: posting and replying, editing and deleting one's own,
//! removal by moderators.

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_app::App;
use uuid::Uuid;

use crate::ApiError;
use crate::dto::{CommentPatch, ModerationReason, NewComment};
use crate::responses::{CommandResponse, CreatedResponse, command_meta};
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// Threaded comments on resources.
    Comments,
}

#[derive(Debug)]
pub struct CommentsApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Comments")]
impl CommentsApi {
    /// Comment on a resource, or reply to a comment
    #[oai(
        path = "/resources/:id/comments",
        method = "post",
        operation_id = "postComment"
    )]
    async fn post(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<NewComment>,
        /// Makes a retried request safe: the same key posts one comment.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CreatedResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .post_comment(&auth.0, id.0, body.parent_id, &body.body, &meta)
            .await?;
        Ok(CreatedResponse::at(
            format!("/v1/comments/{}", outcome.id),
            outcome,
        ))
    }

    /// Edit one's own comment
    #[oai(path = "/comments/:id", method = "patch", operation_id = "editComment")]
    async fn edit(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<CommentPatch>,
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .edit_comment(&auth.0, id.0, &body.body, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Delete one's own comment
    #[oai(
        path = "/comments/:id",
        method = "delete",
        operation_id = "deleteComment"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self.app.delete_comment(&auth.0, id.0, &meta).await?.into())
    }

    /// Remove a comment (moderators only)
    ///
    /// The reason goes to the public moderation log.
    #[oai(
        path = "/comments/:id/remove",
        method = "post",
        operation_id = "removeComment"
    )]
    async fn remove(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ModerationReason>,
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .remove_comment(&auth.0, id.0, &body.reason, &meta)
            .await?;
        Ok(outcome.into())
    }
}
