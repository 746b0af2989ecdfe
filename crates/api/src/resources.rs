//! Resources: submitting, reading, editing, retracting, voting,
//! bookmarking and moderating.

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use resourcify_app::{App, CacheOutcome, ResourceQuery};
use resourcify_domain::resource::{ResourceEdit, Submission};
use uuid::Uuid;

use crate::ApiError;
use crate::dto::{
    ModerationReason, NewResource, Resource, ResourceKind, ResourceList, ResourcePatch,
    min_position,
};
use crate::rendered::RenderedJson;
use crate::responses::{CommandResponse, CreatedResponse, command_meta};
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// Links to articles, videos, courses, books, tools and podcasts.
    Resources,
}

#[derive(Debug)]
pub struct ResourcesApi {
    pub app: App,
}

/// Public data: shared caches may keep it, but must revalidate (cheap: 304).
const PUBLIC_REVALIDATE: &str = "public, max-age=0, must-revalidate";

#[derive(ApiResponse)]
enum ResourceResponse {
    #[oai(status = 200)]
    Ok(
        RenderedJson<Resource>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
        /// `hit` when answered from this node's memory, `miss` otherwise.
        #[oai(header = "X-Cache")]
        String,
    ),
    /// Unchanged since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[derive(ApiResponse)]
enum ResourceListResponse {
    #[oai(status = 200)]
    Ok(
        Json<ResourceList>,
        /// `<…>; rel="next"` (RFC 8288) while there are more pages.
        #[oai(header = "Link")]
        Option<String>,
    ),
}

/// The `Link` header for the page after this one: the same query with the
/// next cursor.
fn next_link(tag: Option<&str>, limit: Option<u32>, next_cursor: Option<&str>) -> Option<String> {
    let cursor = next_cursor?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(tag) = tag {
        query.append_pair("tag", tag);
    }
    if let Some(limit) = limit {
        query.append_pair("limit", &limit.to_string());
    }
    query.append_pair("cursor", cursor);
    Some(format!("</v1/resources?{}>; rel=\"next\"", query.finish()))
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Resources")]
impl ResourcesApi {
    /// Submit a resource
    #[oai(path = "/resources", method = "post", operation_id = "submitResource")]
    async fn submit(
        &self,
        auth: BearerAuth,
        body: Json<NewResource>,
        /// Makes a retried request safe: the same key submits one resource.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CreatedResponse, ApiError> {
        let submission = Submission {
            title: &body.title,
            url: &body.url,
            description: &body.description,
            tags: &body.tags,
            kind: body.kind.as_str(),
        };
        let submitted = self
            .app
            .submit_resource(&auth.0, submission, &command_meta(idempotency_key.0))
            .await?;
        Ok(CreatedResponse::at(
            format!("/v1/resources/{}", submitted.id),
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let edit = ResourceEdit {
            title: body.title.as_deref(),
            description: body.description.as_deref(),
            tags: body.tags.as_deref(),
            kind: body.kind.map(ResourceKind::as_str),
        };
        let meta = command_meta(idempotency_key.0);
        Ok(self
            .app
            .edit_resource(&auth.0, id.0, edit, &meta)
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self
            .app
            .retract_resource(&auth.0, id.0, &meta)
            .await?
            .into())
    }

    /// Upvote a resource
    ///
    /// One vote per member, never on one's own resource. Voting again changes nothing.
    #[oai(path = "/resources/:id/vote", method = "put", operation_id = "upvote")]
    async fn upvote(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self.app.vote(&auth.0, id.0, true, &meta).await?.into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self.app.vote(&auth.0, id.0, false, &meta).await?.into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self.app.bookmark(&auth.0, id.0, true, &meta).await?.into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        Ok(self.app.bookmark(&auth.0, id.0, false, &meta).await?.into())
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .moderate_resource(&auth.0, id.0, true, &body.reason, &meta)
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
        /// Makes a retried request safe.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CommandResponse, ApiError> {
        let meta = command_meta(idempotency_key.0);
        let outcome = self
            .app
            .moderate_resource(&auth.0, id.0, false, &body.reason, &meta)
            .await?;
        Ok(outcome.into())
    }

    /// Get one resource
    #[oai(path = "/resources/:id", method = "get", operation_id = "getResource")]
    async fn get(
        &self,
        id: Path<Uuid>,
        /// Answers 304 when the resource still has this ETag.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        /// Wait (up to a few seconds) until the view includes this position.
        #[oai(name = "X-Resourcify-Min-Position")]
        min_position_header: Header<Option<u64>>,
        /// Same as the `X-Resourcify-Min-Position` header.
        #[oai(name = "min_position")]
        min_position_query: Query<Option<u64>>,
    ) -> Result<ResourceResponse, ApiError> {
        let position = min_position(min_position_header.0, min_position_query.0);
        let (view, outcome) = self
            .app
            .resource_view(id.0, position, |row| {
                RenderedJson::render(&Resource::from(row))
            })
            .await?;
        let cache_control = PUBLIC_REVALIDATE.to_owned();
        if if_none_match.0.is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim() == view.etag || t.trim() == "*")
        }) {
            return Ok(ResourceResponse::NotModified(
                view.etag.clone(),
                cache_control,
            ));
        }
        let cache = match outcome {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
        };
        Ok(ResourceResponse::Ok(
            RenderedJson::from_bytes(view.body.clone()),
            view.etag.clone(),
            cache_control,
            cache.to_owned(),
        ))
    }

    /// List resources, newest first
    #[oai(path = "/resources", method = "get", operation_id = "listResources")]
    async fn list(
        &self,
        /// Only resources with this tag.
        tag: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait (up to a few seconds) until the view includes this position.
        #[oai(name = "X-Resourcify-Min-Position")]
        min_position_header: Header<Option<u64>>,
        /// Same as the `X-Resourcify-Min-Position` header.
        #[oai(name = "min_position")]
        min_position_query: Query<Option<u64>>,
    ) -> Result<ResourceListResponse, ApiError> {
        let position = min_position(min_position_header.0, min_position_query.0);
        let query = ResourceQuery {
            tag: tag.0.as_deref(),
            limit: limit.0,
            cursor: cursor.0.as_deref(),
        };
        let page = self.app.resources(query, position).await?;
        let link = next_link(tag.0.as_deref(), limit.0, page.next_cursor.as_deref());
        Ok(ResourceListResponse::Ok(Json(page.into()), link))
    }
}
