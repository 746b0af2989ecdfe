//! The tech news feed: news sources (admins), the news itself, sharing an
//! item as a resource, and the Atom and RSS feeds (of everything, a tag,
//! a site, a member).

mod dto;
mod syndication;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use resourcify_app::{AuthenticatedUser, NewsQuery};
use resourcify_domain::news_source::{NewsSourceEdit, NewsSourceInput};
use uuid::Uuid;

use crate::ApiError;
use crate::cached::{CachedResponse, PrivateResponse};
use crate::dto::ResourceList;
use crate::extract::{CommandHeaders, ConditionalRead, MinPosition, Page};
use crate::responses::{CommandResponse, CreatedResponse};
use crate::route_names;
use crate::security::BearerAuth;

use dto::{NewNewsSource, NewsSource, NewsSourceList, NewsSourcePatch};
use syndication::{AtomXml, FeedResponse, FeedScope, FeedSubject, RssXml, render_atom, render_rss};

#[derive(Tags)]
enum ApiTags {
    /// News sources, news items and the syndication feeds.
    News,
}

#[derive(Debug)]
pub struct NewsApi {
    pub news: resourcify_app::News,
    pub sites: resourcify_app::Sites,
    /// The configured public URL: the feeds' absolute links start with it.
    pub public_url: std::sync::Arc<str>,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::News")]
impl NewsApi {
    /// Add a news source (admins)
    ///
    /// The ingester polls it at once, then every `poll_interval_seconds`.
    #[oai(
        path = "/news-sources",
        method = "post",
        operation_id = "addNewsSource"
    )]
    async fn add_source(
        &self,
        auth: BearerAuth,
        body: Json<NewNewsSource>,
        meta: CommandHeaders,
    ) -> Result<CreatedResponse, ApiError> {
        let input = NewsSourceInput {
            url: &body.url,
            title: body.title.as_deref(),
            tags: &body.tags,
            poll_interval_seconds: body.poll_interval_seconds,
        };
        let added = self.news.add_source(&auth.0, input, &meta).await?;
        Ok(CreatedResponse::at(
            route_names::table().path_to("getNewsSource", added.id),
            added,
        ))
    }

    /// List news sources (admins)
    ///
    /// Newest first, with how polling each one goes.
    #[oai(
        path = "/news-sources",
        method = "get",
        operation_id = "listNewsSources"
    )]
    async fn list_sources(
        &self,
        auth: BearerAuth,
        page: Page,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<NewsSourceList>, ApiError> {
        let sources = self
            .news
            .sources(&auth.0, page.request(), min_position.0)
            .await?;
        Ok(PrivateResponse::page(sources, &page))
    }

    /// Read a news source (admins)
    #[oai(
        path = "/news-sources/:id",
        method = "get",
        operation_id = "getNewsSource"
    )]
    async fn get_source(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<NewsSource>, ApiError> {
        let source = self.news.source(&auth.0, id.0, min_position.0).await?;
        Ok(PrivateResponse::one(source.into()))
    }

    /// Change a news source (admins)
    ///
    /// A new URL is polled at once, from scratch.
    #[oai(
        path = "/news-sources/:id",
        method = "patch",
        operation_id = "editNewsSource"
    )]
    async fn edit_source(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<NewsSourcePatch>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        let edit = NewsSourceEdit {
            url: body.url.as_deref(),
            title: match &body.title {
                poem_openapi::types::MaybeUndefined::Undefined => None,
                poem_openapi::types::MaybeUndefined::Null => Some(None),
                poem_openapi::types::MaybeUndefined::Value(title) => Some(Some(title.as_str())),
            },
            tags: body.tags.as_deref(),
            poll_interval_seconds: body.poll_interval_seconds,
        };
        Ok(self
            .news
            .update_source(&auth.0, id.0, edit, &meta)
            .await?
            .into())
    }

    /// Remove a news source (admins)
    ///
    /// It is no longer polled; the items found in it stay.
    #[oai(
        path = "/news-sources/:id",
        method = "delete",
        operation_id = "removeNewsSource"
    )]
    async fn remove_source(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.news.remove_source(&auth.0, id.0, &meta).await?.into())
    }

    /// Poll a news source now (admins)
    ///
    /// Whatever its schedule or back-off after failures; the poll's outcome
    /// shows in the source's `status` and `last_fetched_at`.
    #[oai(
        path = "/news-sources/:id/refresh",
        method = "post",
        operation_id = "refreshNewsSource"
    )]
    async fn refresh_source(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.news.refresh_source(&auth.0, id.0, &meta).await?.into())
    }

    /// The news, newest first
    ///
    /// Items found in the news sources. Each is a resource with a `source`
    /// and no `author`: it can be read, upvoted, bookmarked and commented
    /// on at `/v1/resources/{id}`.
    #[oai(path = "/news", method = "get", operation_id = "listNews")]
    #[allow(clippy::too_many_arguments)]
    async fn news(
        &self,
        /// Only this source's items.
        source: Query<Option<Uuid>>,
        /// Only items with this tag.
        tag: Query<Option<String>>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<ResourceList>, ApiError> {
        news_page(&self.news, None, source.0, tag.0.as_deref(), &page, &read).await
    }

    /// Share a news item as a resource
    ///
    /// Submits the item (its link, title, summary and tags, as an article)
    /// as the caller's own resource, under the rules of any submission: a
    /// link submitted before answers 409 with the existing resource.
    #[oai(
        path = "/news/:id/share",
        method = "post",
        operation_id = "shareNewsItem"
    )]
    async fn share(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CreatedResponse, ApiError> {
        let shared = self.news.share_item(&auth.0, id.0, &meta).await?;
        Ok(CreatedResponse::at(
            route_names::table().path_to("getResource", shared.id),
            shared,
        ))
    }

    /// The newest resources and news as Atom 1.0
    #[oai(path = "/feed.atom", method = "get", operation_id = "feedAtom")]
    async fn feed_atom(
        &self,
        request: &Request,
        read: ConditionalRead,
    ) -> Result<FeedResponse<AtomXml>, ApiError> {
        self.syndicate("atom", FeedSubject::Everything, request, &read)
            .await
    }

    /// The newest resources and news as RSS 2.0
    #[oai(path = "/feed.rss", method = "get", operation_id = "feedRss")]
    async fn feed_rss(
        &self,
        request: &Request,
        read: ConditionalRead,
    ) -> Result<FeedResponse<RssXml>, ApiError> {
        self.syndicate("rss", FeedSubject::Everything, request, &read)
            .await
    }

    /// The newest resources and news with a tag, as Atom 1.0
    #[oai(
        path = "/tags/:tag/feed.atom",
        method = "get",
        operation_id = "tagFeedAtom"
    )]
    async fn tag_feed_atom(
        &self,
        request: &Request,
        tag: Path<String>,
        read: ConditionalRead,
    ) -> Result<FeedResponse<AtomXml>, ApiError> {
        self.syndicate("atom", FeedSubject::Tag(&tag.0), request, &read)
            .await
    }

    /// The newest resources and news with a tag, as RSS 2.0
    #[oai(
        path = "/tags/:tag/feed.rss",
        method = "get",
        operation_id = "tagFeedRss"
    )]
    async fn tag_feed_rss(
        &self,
        request: &Request,
        tag: Path<String>,
        read: ConditionalRead,
    ) -> Result<FeedResponse<RssXml>, ApiError> {
        self.syndicate("rss", FeedSubject::Tag(&tag.0), request, &read)
            .await
    }

    /// The newest resources of a site, as Atom 1.0
    ///
    /// The site's resources and news items everyone may see, newest
    /// first, at most 50 (as `GET /v1/domains/{domain}` lists them).
    #[oai(
        path = "/domains/:domain/feed.atom",
        method = "get",
        operation_id = "domainFeedAtom"
    )]
    async fn domain_feed_atom(
        &self,
        request: &Request,
        /// A host name: `example.org`, `www.example.org` (the same site).
        #[oai(validator(min_length = 1, max_length = 253))]
        domain: Path<String>,
        read: ConditionalRead,
    ) -> Result<FeedResponse<AtomXml>, ApiError> {
        self.syndicate("atom", FeedSubject::Site(&domain.0), request, &read)
            .await
    }

    /// The newest resources a member submitted, as Atom 1.0
    ///
    /// Those everyone may see, newest first, at most 50.
    #[oai(
        path = "/users/:username/feed.atom",
        method = "get",
        operation_id = "userFeedAtom"
    )]
    async fn user_feed_atom(
        &self,
        request: &Request,
        username: Path<String>,
        read: ConditionalRead,
    ) -> Result<FeedResponse<AtomXml>, ApiError> {
        self.syndicate("atom", FeedSubject::Member(&username.0), request, &read)
            .await
    }
}

impl NewsApi {
    async fn syndicate<T>(
        &self,
        format: &'static str,
        subject: FeedSubject<'_>,
        request: &Request,
        read: &ConditionalRead,
    ) -> Result<FeedResponse<T>, ApiError>
    where
        T: poem_openapi::payload::Payload + poem::IntoResponse + From<bytes::Bytes> + Send,
    {
        let origin = &*self.public_url;
        let self_path = request.uri().path().to_owned();
        let render = |subject: FeedSubject<'_>, rows: &[resourcify_app::ResourceRow]| {
            let scope = FeedScope {
                origin,
                self_path: &self_path,
                subject,
            };
            match format {
                "atom" => render_atom(&scope, rows),
                _ => render_rss(&scope, rows),
            }
        };
        let at = read.min_position;
        let view = match subject {
            FeedSubject::Everything => {
                self.news
                    .syndication_view(format, origin, None, at, |rows| render(subject, rows))
                    .await?
            }
            FeedSubject::Tag(tag) => {
                self.news
                    .syndication_view(format, origin, Some(tag), at, |rows| render(subject, rows))
                    .await?
            }
            FeedSubject::Site(domain) => {
                self.sites
                    .syndication_view(format, origin, domain, at, |site, rows| {
                        render(FeedSubject::Site(site), rows)
                    })
                    .await?
            }
            FeedSubject::Member(username) => {
                let name = username.trim().to_lowercase();
                self.news
                    .member_syndication_view(format, origin, &name, at, |rows| {
                        render(FeedSubject::Member(&name), rows)
                    })
                    .await?
            }
        };
        Ok(FeedResponse::new(view, read.if_none_match.0.as_deref()))
    }
}

/// The page of news that `source`, `tag` and `page` ask for, as `viewer`
/// reads it (none: the public page): one home for `/v1/news` and
/// `/v1/me/news`.
pub(crate) async fn news_page(
    news: &resourcify_app::News,
    viewer: Option<&AuthenticatedUser>,
    source: Option<Uuid>,
    tag: Option<&str>,
    page: &Page,
    read: &ConditionalRead,
) -> Result<CachedResponse<ResourceList>, ApiError> {
    let query = NewsQuery {
        source,
        tag,
        page: page.request(),
    };
    CachedResponse::list(read, page, async |at, render| {
        news.list_view(viewer, query, at, render).await
    })
    .await
}
