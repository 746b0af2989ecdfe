//! The tech news feed: admins manage news sources (the ingester polls
//! them), anyone reads the news and the syndication feeds, and a member
//! can share a news item as a resource of their own.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use resourcify_domain::ValidationErrors;
use resourcify_domain::news_source::{
    NewsSource, NewsSourceCommand, NewsSourceEdit, NewsSourceInput,
};
use resourcify_domain::resource::{Resource, Submission, Tag};
use resourcify_readmodel::NewsSourceRow;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use crate::auth::AuthenticatedUser;
use crate::cache::{CacheOutcome, RenderedView};
use crate::commands::created_id;
use crate::queries::paging;
use crate::{App, AppError, CommandMeta, CommandOutcome, Cursor, Page, PageRequest, ResourcePage};

/// How many entries a syndication feed carries.
pub const SYNDICATION_ENTRIES: i64 = 50;

/// Which news to list: all of it, one source's or one tag's.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewsQuery<'a> {
    pub source: Option<Uuid>,
    pub tag: Option<&'a str>,
    pub page: PageRequest<'a>,
}

impl App {
    /// Refuses a source URL the ingester would refuse to fetch, so that
    /// an admin hears of it now rather than from a failing source later.
    fn check_news_source_url(&self, raw: &str) -> Result<(), AppError> {
        let Ok(url) = url::Url::parse(raw.trim()) else {
            // The domain's validation reports it, with every other field.
            return Ok(());
        };
        self.inner.news_guard.check_url(&url).map_err(|refusal| {
            AppError::Invalid(ValidationErrors::single("url", refusal.to_string()))
        })
    }

    /// Runs a command on one news source, idempotently per caller.
    async fn on_news_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        request: &(dyn std::fmt::Debug + Sync),
        meta: &CommandMeta,
        command: NewsSourceCommand,
    ) -> Result<CommandOutcome, AppError> {
        self.idempotent(
            &caller.user_id.to_string(),
            request,
            meta,
            |msg_id| async move {
                let executed = self
                    .execute::<NewsSource>(id, &msg_id, meta, &command)
                    .await?;
                Ok(CommandOutcome {
                    id,
                    position: executed.position,
                })
            },
        )
        .await
    }

    /// Adds a news source; admins only. It is polled at once.
    pub async fn add_news_source(
        &self,
        caller: &AuthenticatedUser,
        input: NewsSourceInput<'_>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        caller.actor.ensure_admin()?;
        let source = input.validate().map_err(AppError::Invalid)?;
        self.check_news_source_url(input.url)?;
        let id = created_id(
            &format!("news-source:{}", caller.user_id),
            meta.idempotency_key.as_deref(),
        );
        let command = NewsSourceCommand::Add {
            source_id: id,
            actor: caller.actor.clone(),
            source,
            at: Utc::now(),
        };
        let request = ("add_news_source", &input);
        self.on_news_source(caller, id, &request, meta, command)
            .await
    }

    /// Changes a source's URL, title, tags or interval; admins only.
    pub async fn update_news_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        edit: NewsSourceEdit<'_>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        caller.actor.ensure_admin()?;
        let valid = edit.validate().map_err(AppError::Invalid)?;
        if let Some(url) = edit.url {
            self.check_news_source_url(url)?;
        }
        let command = NewsSourceCommand::Update {
            actor: caller.actor.clone(),
            edit: valid,
            at: Utc::now(),
        };
        let request = ("update_news_source", id, &edit);
        self.on_news_source(caller, id, &request, meta, command)
            .await
    }

    /// Stops polling a source; its items stay. Admins only.
    pub async fn remove_news_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        caller.actor.ensure_admin()?;
        let command = NewsSourceCommand::Remove {
            actor: caller.actor.clone(),
            at: Utc::now(),
        };
        self.on_news_source(caller, id, &("remove_news_source", id), meta, command)
            .await
    }

    /// Has a source polled now, whatever its schedule or back-off.
    pub async fn refresh_news_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        caller.actor.ensure_admin()?;
        let command = NewsSourceCommand::RequestRefresh {
            actor: caller.actor.clone(),
            at: Utc::now(),
        };
        self.on_news_source(caller, id, &("refresh_news_source", id), meta, command)
            .await
    }

    /// Shares a news item with the community: the caller submits it as a
    /// resource of their own (an article, with the item's title, summary
    /// and tags), under the same rules as any submission.
    pub async fn share_news_item(
        &self,
        caller: &AuthenticatedUser,
        item_id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let item = self.inner.store.load::<Resource>(item_id).await?.state;
        item.visible_to(&caller.actor)?;
        if item.source_id.is_none() {
            return Err(AppError::NotFound("news item"));
        }
        let submission = Submission {
            title: &item.title,
            url: &item.canonical_url,
            description: &item.description,
            tags: &item.tags,
            kind: "article",
        };
        self.submit_resource(caller, submission, meta).await
    }

    /// The news sources, newest first; admins only (errors name hosts
    /// and addresses).
    pub async fn news_sources(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<Page<NewsSourceRow>, AppError> {
        caller.actor.ensure_admin()?;
        let paging = paging(page)?;
        let before = paging.before()?;
        self.wait_for(Projection::News, min_position).await?;
        let items = self
            .inner
            .reads
            .news_sources_page(before, paging.fetch())
            .await?;
        Ok(paging.page(items, |last| Cursor::Before(last.listed_at)))
    }

    /// One news source; admins only.
    pub async fn news_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        min_position: Option<u64>,
    ) -> Result<NewsSourceRow, AppError> {
        caller.actor.ensure_admin()?;
        self.wait_for(Projection::News, min_position).await?;
        self.inner
            .reads
            .news_source_by_id(id)
            .await?
            .ok_or(AppError::NotFound("news source"))
    }

    /// News items, newest first: all, one source's or one tag's.
    pub async fn news_view(
        &self,
        query: NewsQuery<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let mut errors = ValidationErrors::default();
        let tag = errors.check("tag", query.tag.map(Tag::parse).transpose());
        if query.source.is_some() && query.tag.is_some() {
            errors.check::<()>("tag", Err("filter by one of source, tag at a time".into()));
        }
        let paging = paging(query.page)?;
        let Some(tag) = tag.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let before = paging.before()?;
        let scope = match (query.source, tag) {
            (Some(source), _) => format!("news:source:{source}"),
            (None, Some(tag)) => format!("news:tag:{}", tag.as_str()),
            (None, None) => "news".to_owned(),
        };
        let key = format!(
            "news {scope} {} {}",
            paging.limit,
            query.page.cursor.unwrap_or("")
        );
        self.cached(
            &self.inner.list_views,
            Projection::Resources,
            key,
            min_position,
            || async move {
                let items = self
                    .inner
                    .reads
                    .resources_newest(&scope, before, paging.fetch())
                    .await?;
                let page = paging.page(items, |last| Cursor::Before(last.listed_at));
                Ok((render(&page), page.next_cursor))
            },
        )
        .await
    }

    /// The newest resources and news (of one tag, if given), as a
    /// syndication feed rendered by `render`; `format` and `origin` keep
    /// the renderings apart in the cache.
    pub async fn syndication_view(
        &self,
        format: &'static str,
        origin: &str,
        tag: Option<&str>,
        min_position: Option<u64>,
        render: impl FnOnce(&[resourcify_readmodel::ResourceRow]) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let tag = tag
            .map(Tag::parse)
            .transpose()
            .map_err(|message| AppError::Invalid(ValidationErrors::single("tag", message)))?;
        let scopes = match &tag {
            Some(tag) => [
                format!("tag:{}", tag.as_str()),
                format!("news:tag:{}", tag.as_str()),
            ],
            None => ["all".to_owned(), "news".to_owned()],
        };
        // The documents link absolutely, to where the client found them.
        let key = format!("syndication {format} {origin} {}", scopes.join(" "));
        self.cached(
            &self.inner.list_views,
            Projection::Resources,
            key,
            min_position,
            || async move {
                let items = self
                    .inner
                    .reads
                    .resources_in_scopes(&scopes, i64::MAX, SYNDICATION_ENTRIES)
                    .await?;
                Ok((render(&items), None))
            },
        )
        .await
    }
}
