//! Comments: posting and replying, editing and deleting one's own,
//! removal by moderators.

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_app::{App, PageRequest};
use uuid::Uuid;

use crate::ApiError;
use crate::cached::{CachedResponse, page_path};
use crate::dto::{CommentList, CommentPatch, ModerationReason, NewComment, min_position};
use crate::rendered::RenderedJson;
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
        /// Page size, 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Answers 304 when the page still has this ETag.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        /// Wait (up to a few seconds) until the view includes this position.
        #[oai(name = "X-Resourcify-Min-Position")]
        min_position_header: Header<Option<u64>>,
        /// Same as the `X-Resourcify-Min-Position` header.
        #[oai(name = "min_position")]
        min_position_query: Query<Option<u64>>,
    ) -> Result<CachedResponse<CommentList>, ApiError> {
        let position = min_position(min_position_header.0, min_position_query.0);
        let page = PageRequest {
            limit: limit.0,
            cursor: cursor.0.as_deref(),
        };
        let view = self
            .app
            .comments_view(id.0, page, position, |page| {
                RenderedJson::render(&CommentList::from(page))
            })
            .await?;
        let path = format!("/v1/resources/{}/comments", id.0);
        let params = [("limit", limit.0.map(|l| l.to_string()))];
        Ok(CachedResponse::new(
            view,
            if_none_match.0.as_deref(),
            |next| page_path(&path, &params, next),
        ))
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
