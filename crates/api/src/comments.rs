//! Comments: posting and replying, editing and deleting one's own,
//! removal by moderators.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use uuid::Uuid;

use crate::cached::CachedResponse;
use crate::dto::{CommentList, CommentPatch, ModerationReason, NewComment};
use crate::extract::{IdempotencyKey, IfNoneMatch, MinPosition, Page};
use crate::rendered::RenderedJson;
use crate::responses::{CommandResponse, CreatedResponse, command_meta};
use crate::route_names;
use crate::security::BearerAuth;
use crate::{ApiError, RateLimits};

#[derive(Tags)]
enum ApiTags {
    /// Threaded comments on resources.
    Comments,
}

#[derive(Debug)]
pub struct CommentsApi {
    pub comments: resourcify_app::Comments,
    pub moderation: resourcify_app::Moderation,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Comments")]
impl CommentsApi {
    /// A resource's comments, in thread order
    ///
    /// Depth-first and oldest first: each reply follows its parent, with its
    /// `depth`. Deleted comments keep their place, without their text.
    #[oai(
        path = "/resources/:id/comments",
        method = "get",
        operation_id = "listComments"
    )]
    async fn list(
        &self,
        id: Path<Uuid>,
        page: Page,
        if_none_match: IfNoneMatch,
        min_position: MinPosition,
    ) -> Result<CachedResponse<CommentList>, ApiError> {
        let position = min_position.0;
        let view = self
            .comments
            .thread_view(id.0, page.request(), position, |page| {
                RenderedJson::render(&CommentList::from(page))
            })
            .await?;
        Ok(CachedResponse::page(view, &if_none_match, &page))
    }

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
        idempotency_key: IdempotencyKey,
        limits: Data<&Arc<RateLimits>>,
    ) -> Result<CreatedResponse, ApiError> {
        limits.check_comment(auth.0.user_id)?;
        let meta = command_meta(idempotency_key);
        let outcome = self
            .comments
            .post(&auth.0, id.0, body.parent_id, &body.body, &meta)
            .await?;
        // A comment's address is where it is edited and deleted; it is read
        // in its resource's thread.
        let location = route_names::table().path_to("editComment", outcome.id);
        Ok(CreatedResponse::at(location, outcome))
    }

    /// Edit one's own comment
    #[oai(path = "/comments/:id", method = "patch", operation_id = "editComment")]
    async fn edit(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<CommentPatch>,
        idempotency_key: IdempotencyKey,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key);
        let outcome = self.comments.edit(&auth.0, id.0, &body.body, &meta).await?;
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
        idempotency_key: IdempotencyKey,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key);
        Ok(self.comments.delete(&auth.0, id.0, &meta).await?.into())
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
        idempotency_key: IdempotencyKey,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key);
        let outcome = self
            .moderation
            .remove_comment(&auth.0, id.0, &body.reason, &meta)
            .await?;
        Ok(outcome.into())
    }
}
