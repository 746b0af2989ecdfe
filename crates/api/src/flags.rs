//! Flags: members flag resources and comments and take their flags back;
//! moderators read the queue of what was flagged and keep what they find
//! fine (hiding and removing are the resources' and comments' own routes).

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_domain::flag::FlagTarget;
use uuid::Uuid;

use crate::ApiError;
use crate::cached::PrivateResponse;
use crate::dto::{FlagQueue, ModerationReason, NewFlag};
use crate::extract::{CommandHeaders, MinPosition, Page};
use crate::responses::CommandResponse;
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// Flags on resources and comments, and the moderation queue.
    Flags,
}

#[derive(Debug)]
pub struct FlagsApi {
    pub flags: resourcify_app::Flags,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Flags")]
impl FlagsApi {
    /// Flag a resource
    ///
    /// One flag per member per resource (a second is 409), never on one's
    /// own (403), and only with enough karma (`RESOURCIFY_MIN_KARMA_TO_FLAG`;
    /// 403 `not-enough-karma` below it: the karma as the views show it,
    /// once they reach `X-Resourcify-Min-Position` if sent). Enough distinct flags
    /// (`RESOURCIFY_FLAG_THRESHOLD`) hold the resource out of every list
    /// until a moderator keeps or hides it.
    #[oai(
        path = "/resources/:id/flags",
        method = "post",
        operation_id = "flagResource"
    )]
    async fn flag_resource(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<NewFlag>,
        karma_at: MinPosition,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let flag = (FlagTarget::Resource, id.0, body.reason.into());
        let flagged = self.flags.flag(&auth.0, flag, karma_at.0, &meta);
        Ok(flagged.await?.into())
    }

    /// Withdraw one's flag on a resource
    ///
    /// Before a hold, the resource's count goes down; a hold stays until a
    /// moderator decides. Withdrawing no flag changes nothing.
    #[oai(
        path = "/resources/:id/flags",
        method = "delete",
        operation_id = "withdrawResourceFlag"
    )]
    async fn withdraw_resource_flag(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let withdrawn = self
            .flags
            .withdraw(&auth.0, FlagTarget::Resource, id.0, &meta);
        Ok(withdrawn.await?.into())
    }

    /// Flag a comment
    ///
    /// As for resources: one flag per member, never one's own, enough
    /// karma; a flagged comment is queued for moderators.
    #[oai(
        path = "/comments/:id/flags",
        method = "post",
        operation_id = "flagComment"
    )]
    async fn flag_comment(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<NewFlag>,
        karma_at: MinPosition,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let flag = (FlagTarget::Comment, id.0, body.reason.into());
        let flagged = self.flags.flag(&auth.0, flag, karma_at.0, &meta);
        Ok(flagged.await?.into())
    }

    /// Withdraw one's flag on a comment
    #[oai(
        path = "/comments/:id/flags",
        method = "delete",
        operation_id = "withdrawCommentFlag"
    )]
    async fn withdraw_comment_flag(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let withdrawn = self
            .flags
            .withdraw(&auth.0, FlagTarget::Comment, id.0, &meta);
        Ok(withdrawn.await?.into())
    }

    /// Keep a flagged resource (moderators only)
    ///
    /// Its flags are dismissed and its hold ends: it is back in every
    /// list. The reason goes to the public moderation log. Nothing to
    /// dismiss is 409.
    #[oai(
        path = "/resources/:id/flags/dismiss",
        method = "post",
        operation_id = "keepResource"
    )]
    async fn keep_resource(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ModerationReason>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let kept = self
            .flags
            .keep(&auth.0, FlagTarget::Resource, id.0, &body.reason, &meta);
        Ok(kept.await?.into())
    }

    /// Keep a flagged comment (moderators only)
    #[oai(
        path = "/comments/:id/flags/dismiss",
        method = "post",
        operation_id = "keepComment"
    )]
    async fn keep_comment(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ModerationReason>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let kept = self
            .flags
            .keep(&auth.0, FlagTarget::Comment, id.0, &body.reason, &meta);
        Ok(kept.await?.into())
    }

    /// The moderation queue (moderators only)
    ///
    /// Flagged resources and comments, most flagged first, then oldest,
    /// each with its open flags tallied by reason and whether they hold
    /// it. An entry leaves when a moderator keeps it, hides the resource
    /// or removes the comment, or when its last flag is withdrawn before
    /// a hold.
    #[oai(
        path = "/moderation/queue",
        method = "get",
        operation_id = "moderationQueue"
    )]
    async fn queue(
        &self,
        auth: BearerAuth,
        page: Page,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<FlagQueue>, ApiError> {
        let queue = self
            .flags
            .queue(&auth.0, page.request(), min_position.0)
            .await?;
        Ok(PrivateResponse::page(queue, &page))
    }
}
