//! Finding things: the front-page feed, full-text search, tags, and the
//! public moderation log.

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use crate::ApiError;
use crate::cached::{CachedResponse, PUBLIC_REVALIDATE};
use crate::dto::{ModerationLog, ResourceList, TagList};
use crate::extract::{ConditionalRead, MinPosition, Page};

#[derive(Tags)]
enum ApiTags {
    /// The feed, search, tags and the moderation log.
    Discovery,
}

#[derive(Debug)]
pub struct DiscoveryApi {
    pub moderation: resourcify_app::Moderation,
    pub resources: resourcify_app::Resources,
}

#[derive(ApiResponse)]
enum ModerationLogResponse {
    #[oai(status = 200)]
    Ok(
        Json<ModerationLog>,
        #[oai(header = "Cache-Control")] String,
        /// `<…>; rel="next"` (RFC 8288) while there are more pages.
        #[oai(header = "Link")]
        Option<String>,
    ),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Discovery")]
impl DiscoveryApi {
    /// The front page: hottest first
    ///
    /// Votes decayed by age: a newer resource needs fewer votes to rank as
    /// high; ties go to the newer.
    #[oai(path = "/feed", method = "get", operation_id = "feed")]
    async fn feed(
        &self,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources
                .feed_view(None, page.request(), at, render)
                .await
        })
        .await
    }

    /// Search resources
    ///
    /// Full text over titles, tags and descriptions, best match first.
    /// `q` takes web-search syntax: words, "quoted phrases", -excluded.
    #[oai(path = "/search", method = "get", operation_id = "search")]
    async fn search(
        &self,
        /// What to look for, 1 to 200 characters.
        #[oai(validator(min_length = 1, max_length = 200))]
        q: Query<String>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources
                .search_view(&q.0, page.request(), at, render)
                .await
        })
        .await
    }

    /// Tags, most used first
    #[oai(path = "/tags", method = "get", operation_id = "listTags")]
    async fn tags(
        &self,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<TagList>, ApiError> {
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources.tags_view(page.request(), at, render).await
        })
        .await
    }

    /// The public moderation log, newest first
    #[oai(
        path = "/moderation-log",
        method = "get",
        operation_id = "moderationLog"
    )]
    async fn moderation_log(
        &self,
        page: Page,
        min_position: MinPosition,
    ) -> Result<ModerationLogResponse, ApiError> {
        let log = self.moderation.log(page.request(), min_position.0).await?;
        let link = page.next_link(log.next_cursor.as_deref());
        Ok(ModerationLogResponse::Ok(
            Json(log.into()),
            PUBLIC_REVALIDATE.to_owned(),
            link,
        ))
    }
}
