//! Resources: submitting, reading, editing, retracting, voting,
//! bookmarking and moderating.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_app::ResourceQuery;
use resourcify_domain::resource::{ResourceEdit, Submission};
use uuid::Uuid;

use crate::ApiError;
use crate::cached::CachedResponse;
use crate::dto::{
    HistoryOrder, ListOrder, ModerationReason, NewResource, Resource, ResourceHistory,
    ResourceKind, ResourceList, ResourcePatch,
};
use crate::extract::{CommandHeaders, ConditionalRead, Page};
use crate::rendered::RenderedJson;
use crate::responses::{CommandResponse, CreatedResponse};
use crate::route_names;
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// Links to articles, videos, courses, books, tools and podcasts.
    Resources,
}

#[derive(Debug)]
pub struct ResourcesApi {
    pub moderation: resourcify_app::Moderation,
    pub resources: resourcify_app::Resources,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Resources")]
impl ResourcesApi {
    /// Submit a resource
    #[oai(path = "/resources", method = "post", operation_id = "submitResource")]
    async fn submit(
        &self,
        auth: BearerAuth,
        body: Json<NewResource>,
        meta: CommandHeaders,
    ) -> Result<CreatedResponse, ApiError> {
        let submission = Submission {
            title: &body.title,
            url: &body.url,
            description: &body.description,
            tags: &body.tags,
            kind: body.kind.as_str(),
        };
        let submitted = self.resources.submit(&auth.0, submission, &meta).await?;
        Ok(CreatedResponse::at(
            route_names::table().path_to("getResource", submitted.id),
            submitted,
        ))
    }

    /// Edit a resource (its author only)
    ///
    /// Title, description, tags and kind can change; the URL cannot.
    #[oai(
        path = "/resources/:id",
        method = "patch",
        operation_id = "editResource"
    )]
    async fn edit(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ResourcePatch>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let edit = ResourceEdit {
            title: body.title.as_deref(),
            description: body.description.as_deref(),
            tags: body.tags.as_deref(),
            kind: body.kind.map(ResourceKind::as_str),
        };
        Ok(self
            .resources
            .edit(&auth.0, id.0, edit, &meta)
            .await?
            .into())
    }

    /// Retract a resource (its author only)
    ///
    /// It leaves every list and view for good; its URL may be submitted again.
    #[oai(
        path = "/resources/:id",
        method = "delete",
        operation_id = "retractResource"
    )]
    async fn retract(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.resources.retract(&auth.0, id.0, &meta).await?.into())
    }

    /// Upvote a resource
    ///
    /// One vote per member, never on one's own resource. Voting again changes nothing.
    #[oai(path = "/resources/:id/vote", method = "put", operation_id = "upvote")]
    async fn upvote(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self
            .resources
            .vote(&auth.0, id.0, true, &meta)
            .await?
            .into())
    }

    /// Withdraw an upvote
    #[oai(
        path = "/resources/:id/vote",
        method = "delete",
        operation_id = "withdrawUpvote"
    )]
    async fn withdraw_upvote(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self
            .resources
            .vote(&auth.0, id.0, false, &meta)
            .await?
            .into())
    }

    /// Bookmark a resource (private to the caller)
    #[oai(
        path = "/resources/:id/bookmark",
        method = "put",
        operation_id = "bookmark"
    )]
    async fn bookmark(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self
            .resources
            .bookmark(&auth.0, id.0, true, &meta)
            .await?
            .into())
    }

    /// Remove a bookmark
    #[oai(
        path = "/resources/:id/bookmark",
        method = "delete",
        operation_id = "removeBookmark"
    )]
    async fn remove_bookmark(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self
            .resources
            .bookmark(&auth.0, id.0, false, &meta)
            .await?
            .into())
    }

    /// Hide a resource (moderators only)
    ///
    /// It disappears for everyone; the reason goes to the public moderation log.
    #[oai(
        path = "/resources/:id/hide",
        method = "post",
        operation_id = "hideResource"
    )]
    async fn hide(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ModerationReason>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .hide_or_restore(&auth.0, id.0, true, &body.reason, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Restore a hidden resource (moderators only)
    #[oai(
        path = "/resources/:id/restore",
        method = "post",
        operation_id = "restoreResource"
    )]
    async fn restore(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ModerationReason>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self
            .moderation
            .hide_or_restore(&auth.0, id.0, false, &body.reason, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Get one resource
    #[oai(path = "/resources/:id", method = "get", operation_id = "getResource")]
    async fn get(
        &self,
        id: Path<Uuid>,
        read: ConditionalRead,
    ) -> Result<CachedResponse<Resource>, ApiError> {
        let view = self
            .resources
            .resource_view(id.0, read.min_position, |row| {
                RenderedJson::render(&Resource::from(row))
            })
            .await?;
        Ok(CachedResponse::view(view, &read))
    }

    /// A resource's edits
    ///
    /// Every edit of the resource: when, by whom, and each field it
    /// changed with its value before and after. Newest first (default) or
    /// oldest first; pages with `cursor`, the `Link` header names the next
    /// page. A resource that is hidden or retracted is not found, as at
    /// `GET /v1/resources/{id}`.
    #[oai(
        path = "/resources/:id/history",
        method = "get",
        operation_id = "getResourceHistory"
    )]
    async fn history(
        &self,
        id: Path<Uuid>,
        /// `newest` (default) or `oldest`.
        order: Query<Option<HistoryOrder>>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceHistory>, ApiError> {
        let order = order.0.map(Into::into).unwrap_or_default();
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources
                .history_view(id.0, order, page.request(), at, render)
                .await
        })
        .await
    }

    /// List resources
    ///
    /// All resources, or those of one tag, kind or author, newest first,
    /// most upvoted first (`top`) or hottest first (`hot`: votes decayed by
    /// age). Pages with `cursor`; the `Link` header names the next page.
    #[oai(path = "/resources", method = "get", operation_id = "listResources")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        /// Only resources with this tag.
        tag: Query<Option<String>>,
        /// Only resources of this kind.
        kind: Query<Option<ResourceKind>>,
        /// Only resources by this username.
        author: Query<Option<String>>,
        /// `new` (default), `top` or `hot`.
        sort: Query<Option<ListOrder>>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        let query = list_query(&tag, kind.0, &author, sort.0, &page);
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources.list_view(None, query, at, render).await
        })
        .await
    }
}

/// A list of resources as its parameters ask for it: those of
/// `/v1/resources` and of its member's view `/v1/me/resources`.
pub(crate) fn list_query<'a>(
    tag: &'a Query<Option<String>>,
    kind: Option<ResourceKind>,
    author: &'a Query<Option<String>>,
    sort: Option<ListOrder>,
    page: &'a Page,
) -> ResourceQuery<'a> {
    ResourceQuery {
        tag: tag.0.as_deref(),
        kind: kind.map(ResourceKind::as_str),
        author: author.0.as_deref(),
        sort: sort.map(ListOrder::as_str),
        limit: page.limit,
        cursor: page.cursor.as_deref(),
    }
}
