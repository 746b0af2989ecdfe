//! Submitting and reading resources.

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use resourcify_app::{App, ResourceQuery};
use resourcify_domain::resource::Submission;
use uuid::Uuid;

use crate::ApiError;
use crate::dto::{NewResource, Resource, ResourceList, SubmittedResource, min_position};
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

#[derive(ApiResponse)]
enum SubmitResponse {
    /// Recorded. Read it back with `X-Resourcify-Min-Position` set to `position`.
    #[oai(status = 201)]
    Created(
        Json<SubmittedResource>,
        #[oai(header = "Location")] String,
        #[oai(header = "X-Resourcify-Position")] u64,
    ),
}

#[derive(ApiResponse)]
enum ResourceResponse {
    #[oai(status = 200)]
    Ok(Json<Resource>),
}

#[derive(ApiResponse)]
enum ResourceListResponse {
    #[oai(status = 200)]
    Ok(Json<ResourceList>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Resources")]
impl ResourcesApi {
    /// Submit a resource
    #[oai(path = "/resources", method = "post")]
    async fn submit(
        &self,
        auth: BearerAuth,
        body: Json<NewResource>,
        /// Makes a retried request safe: the same key submits one resource.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<SubmitResponse, ApiError> {
        let submission = Submission {
            title: &body.title,
            url: &body.url,
            description: &body.description,
            tags: &body.tags,
            kind: body.kind.as_str(),
        };
        let submitted = self
            .app
            .submit_resource(&auth.0, submission, idempotency_key.0.as_deref())
            .await?;
        Ok(SubmitResponse::Created(
            Json(SubmittedResource {
                id: submitted.id,
                position: submitted.position,
            }),
            format!("/v1/resources/{}", submitted.id),
            submitted.position,
        ))
    }

    /// Get one resource
    #[oai(path = "/resources/:id", method = "get")]
    async fn get(
        &self,
        id: Path<Uuid>,
        /// Wait (up to a few seconds) until the view includes this position.
        #[oai(name = "X-Resourcify-Min-Position")]
        min_position_header: Header<Option<u64>>,
        /// Same as the `X-Resourcify-Min-Position` header.
        #[oai(name = "min_position")]
        min_position_query: Query<Option<u64>>,
    ) -> Result<ResourceResponse, ApiError> {
        let position = min_position(min_position_header.0, min_position_query.0);
        let row = self.app.resource(id.0, position).await?;
        Ok(ResourceResponse::Ok(Json(row.into())))
    }

    /// List resources, newest first
    #[oai(path = "/resources", method = "get")]
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
        Ok(ResourceListResponse::Ok(Json(page.into())))
    }
}
