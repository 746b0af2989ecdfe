//! Finding things: the front-page feed, full-text search, tags, and the
//! public moderation log.

use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use resourcify_app::PageRequest;

use crate::ApiError;
use crate::cached::{CachedResponse, PUBLIC_REVALIDATE, page_path};
use crate::dto::{ModerationLog, ResourceList, TagList};
use crate::extract::{MinPosition, Page};
use crate::rendered::RenderedJson;

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
        /// Answers 304 when the page still has this ETag.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        min_position: MinPosition,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        let position = min_position.0;
        let page = PageRequest {
            limit: page.limit,
            cursor: page.cursor.as_deref(),
        };
        let view = self
            .resources
            .feed_view(page, position, |page| {
                RenderedJson::render(&ResourceList::from(page))
            })
            .await?;
        let params = [("limit", page.limit.map(|l| l.to_string()))];
        Ok(CachedResponse::new(
            view,
            if_none_match.0.as_deref(),
            |next| page_path("/v1/feed", &params, next),
        ))
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
        /// Answers 304 when the page still has this ETag.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        min_position: MinPosition,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        let position = min_position.0;
        let page = PageRequest {
            limit: page.limit,
            cursor: page.cursor.as_deref(),
        };
        let view = self
            .resources
            .search_view(&q.0, page, position, |page| {
                RenderedJson::render(&ResourceList::from(page))
            })
            .await?;
        let params = [
            ("q", Some(q.0.clone())),
            ("limit", page.limit.map(|l| l.to_string())),
        ];
        Ok(CachedResponse::new(
            view,
            if_none_match.0.as_deref(),
            |next| page_path("/v1/search", &params, next),
        ))
    }

    /// Tags, most used first
    #[oai(path = "/tags", method = "get", operation_id = "listTags")]
    async fn tags(
        &self,
        page: Page,
        /// Answers 304 when the page still has this ETag.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        min_position: MinPosition,
    ) -> Result<CachedResponse<TagList>, ApiError> {
        let position = min_position.0;
        let page = PageRequest {
            limit: page.limit,
            cursor: page.cursor.as_deref(),
        };
        let view = self
            .resources
            .tags_view(page, position, |page| {
                RenderedJson::render(&TagList::from(page))
            })
            .await?;
        let params = [("limit", page.limit.map(|l| l.to_string()))];
        Ok(CachedResponse::new(
            view,
            if_none_match.0.as_deref(),
            |next| page_path("/v1/tags", &params, next),
        ))
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
        let position = min_position.0;
        let page = PageRequest {
            limit: page.limit,
            cursor: page.cursor.as_deref(),
        };
        let log = self.moderation.log(page, position).await?;
        let params = [("limit", page.limit.map(|l| l.to_string()))];
        let link = log.next_cursor.as_deref().map(|next| {
            format!(
                "<{}>; rel=\"next\"",
                page_path("/v1/moderation-log", &params, next)
            )
        });
        Ok(ModerationLogResponse::Ok(
            Json(log.into()),
            PUBLIC_REVALIDATE.to_owned(),
            link,
        ))
    }
}
