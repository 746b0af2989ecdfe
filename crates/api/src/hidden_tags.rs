//! Hidden tags: a member hides tags, and reads the front page, the lists
//! and the news without the resources that carry them (ADR 23). The public
//! lists stay one answer for everyone, which shared caches keep; a
//! member's view of them lives under `/v1/me/`, kept by no cache but
//! theirs.

use poem_openapi::param::{Path, Query};
use poem_openapi::{OpenApi, Tags};
use uuid::Uuid;

use crate::ApiError;
use crate::cached::CachedResponse;
use crate::dto::{ListOrder, ResourceKind, ResourceList};
use crate::extract::{CommandHeaders, ConditionalRead, Page};
use crate::news::news_page;
use crate::responses::CommandResponse;
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// The caller's own account.
    Me,
}

#[derive(Debug)]
pub struct HiddenTagsApi {
    pub tag_filters: resourcify_app::TagFilters,
    pub resources: resourcify_app::Resources,
    pub news: resourcify_app::News,
}

#[OpenApi(prefix_path = "/v1/me", tag = "ApiTags::Me")]
impl HiddenTagsApi {
    /// Hide a tag
    ///
    /// Resources carrying it leave one's front page, lists, news and feed
    /// under `/v1/me/`. At most 100 tags; hiding one again changes nothing.
    #[oai(path = "/hidden-tags/:tag", method = "put", operation_id = "hideTag")]
    async fn hide(
        &self,
        auth: BearerAuth,
        tag: Path<String>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self.tag_filters.hide(&auth.0, &tag, true, &meta).await?;
        Ok(outcome.into())
    }

    /// Show a hidden tag again
    #[oai(
        path = "/hidden-tags/:tag",
        method = "delete",
        operation_id = "unhideTag"
    )]
    async fn unhide(
        &self,
        auth: BearerAuth,
        tag: Path<String>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let outcome = self.tag_filters.hide(&auth.0, &tag, false, &meta).await?;
        Ok(outcome.into())
    }

    /// One's front page: hottest first, without hidden tags
    ///
    /// `/v1/feed` as the caller reads it. A page reads at most 8 × (limit
    /// + 1) rows of the list; only when fewer than `limit` of those are
    /// left after the hidden tags is it short, and its `next_cursor` goes
    /// on after them.
    #[oai(path = "/front-page", method = "get", operation_id = "memberFrontPage")]
    async fn front_page(
        &self,
        auth: BearerAuth,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        CachedResponse::list(&read, &page, async |at, render| {
            let request = page.request();
            self.resources
                .feed_view(Some(&auth.0), request, at, render)
                .await
        })
        .await
        .map(CachedResponse::for_one_member)
    }

    /// One's lists of resources, without hidden tags
    ///
    /// `/v1/resources` as the caller reads it, with the same filters and
    /// orders, and pages as on the front page.
    #[oai(
        path = "/resources",
        method = "get",
        operation_id = "memberListResources"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn resources(
        &self,
        auth: BearerAuth,
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
        let query = crate::resources::list_query(&tag, kind.0, &author, sort.0, &page);
        CachedResponse::list(&read, &page, async |at, render| {
            self.resources
                .list_view(Some(&auth.0), query, at, render)
                .await
        })
        .await
        .map(CachedResponse::for_one_member)
    }

    /// One's news, newest first, without hidden tags
    ///
    /// `/v1/news` as the caller reads it, with the same filters, and pages
    /// as on the front page.
    #[oai(path = "/news", method = "get", operation_id = "memberListNews")]
    async fn news(
        &self,
        auth: BearerAuth,
        /// Only this source's items.
        source: Query<Option<Uuid>>,
        /// Only items with this tag.
        tag: Query<Option<String>>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        let viewer = Some(&auth.0);
        news_page(&self.news, viewer, source.0, tag.0.as_deref(), &page, &read)
            .await
            .map(CachedResponse::for_one_member)
    }
}
