//! Comments: posting and replying, reading one or a thread in one of its
//! orders, editing and deleting one's own, voting on others', removal by
//! moderators.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use uuid::Uuid;

use crate::cached::CachedResponse;
use crate::dto::{
    Comment, CommentList, CommentPatch, CommentVote, ModerationReason, NewComment, ThreadSort,
};
use crate::extract::{CommandHeaders, ConditionalRead, Page};
use crate::rendered::RenderedJson;
use crate::responses::{CommandResponse, CreatedResponse};
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
    /// Depth-first: each reply follows its parent, with its `depth`, and
    /// siblings oldest first, unless `sort` says otherwise. Deleted
    /// comments keep their place, without their text. A cursor belongs to
    /// its order; in `top` order a page is ranked as the votes stand when
    /// it is read.
    #[oai(
        path = "/resources/:id/comments",
        method = "get",
        operation_id = "listComments"
    )]
    async fn list(
        &self,
        id: Path<Uuid>,
        /// How siblings are ordered: `top` by the Wilson score lower bound
        /// (z = 1.96) of their share of upvotes, equal scores oldest
        /// first; `new` newest first. Absent: oldest first.
        sort: Query<Option<ThreadSort>>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<CommentList>, ApiError> {
        let order = sort.0.map(Into::into).unwrap_or_default();
        CachedResponse::list(&read, &page, async |at, render| {
            self.comments
                .thread_view(id.0, order, page.request(), at, render)
                .await
        })
        .await
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
        meta: CommandHeaders,
        limits: Data<&Arc<RateLimits>>,
    ) -> Result<CreatedResponse, ApiError> {
        limits.check_comment(auth.0.user_id)?;
        let outcome = self
            .comments
            .post(&auth.0, id.0, body.parent_id, &body.body, &meta)
            .await?;
        let location = route_names::table().path_to("getComment", outcome.id);
        Ok(CreatedResponse::at(location, outcome))
    }

    /// Get one comment
    ///
    /// As its resource's thread shows it, with the resource's id: a
    /// deleted or removed comment keeps its place without its text. The
    /// comments of a resource that is hidden or retracted are not found,
    /// as the resource is not.
    #[oai(path = "/comments/:id", method = "get", operation_id = "getComment")]
    async fn get(
        &self,
        id: Path<Uuid>,
        read: ConditionalRead,
    ) -> Result<CachedResponse<Comment>, ApiError> {
        let view = self
            .comments
            .comment_view(id.0, read.min_position, |row| {
                RenderedJson::render(&Comment::from(row))
            })
            .await?;
        Ok(CachedResponse::view(view, &read))
    }

    /// Edit one's own comment
    #[oai(path = "/comments/:id", method = "patch", operation_id = "editComment")]
    async fn edit(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<CommentPatch>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
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
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.comments.delete(&auth.0, id.0, &meta).await?.into())
    }

    /// Vote on a comment, up or down
    ///
    /// One vote per member per comment, never on one's own (403); voting
    /// the same way again changes nothing, the other way turns the vote.
    /// A deleted or removed comment is not found (404).
    #[oai(
        path = "/comments/:id/vote",
        method = "put",
        operation_id = "voteComment"
    )]
    async fn vote(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<CommentVote>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let direction = Some(body.direction.into());
        let outcome = self.comments.vote(&auth.0, id.0, direction, &meta).await?;
        Ok(outcome.into())
    }

    /// Withdraw one's vote on a comment
    #[oai(
        path = "/comments/:id/vote",
        method = "delete",
        operation_id = "withdrawCommentVote"
    )]
    async fn withdraw_vote(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.comments.vote(&auth.0, id.0, None, &meta).await?.into())
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
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .remove_comment(&auth.0, id.0, &body.reason, &meta)
            .await?;
        Ok(outcome.into())
    }
}
