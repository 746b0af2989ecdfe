//! The tech news feed: admins manage news sources (the ingester polls
//! them), anyone reads the news and the syndication feeds, and a member
//! can share a news item as a resource of their own.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use resourcify_domain::news_source::{
    NewsSource, NewsSourceCommand, NewsSourceEdit, NewsSourceInput,
};
use resourcify_domain::resource::{Resource, Submission, Tag};
use resourcify_domain::{Actor, ValidationErrors};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{NewsSourceRow, ReadModel};
use uuid::Uuid;

use resourcify_fetch_guard::AllowList;
use resourcify_readmodel::Scope;

use crate::core::{CommandMeta, CommandOutcome};
use crate::core::{Core, created_id};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::hidden_tags::fill_page;
use crate::paging::{Page, PageRequest, ResourcePage};
use crate::paging::{newest_before, newest_first, paging};
use crate::resources::Resources;
use crate::views::{CacheOutcome, RenderedView};

/// How many entries a syndication feed carries.
pub const SYNDICATION_ENTRIES: i64 = 50;

/// Which news to list: all of it, one source's or one tag's.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewsQuery<'a> {
    pub source: Option<Uuid>,
    pub tag: Option<&'a str>,
    pub page: PageRequest<'a>,
}

/// News sources and the news read from them.
#[derive(Debug, Clone)]
pub struct News {
    core: Core,
    /// Sharing an item is submitting it as a resource.
    resources: Resources,
    /// Hosts the operator exempted from the fetcher's address guard.
    allow_hosts: AllowList,
}

impl News {
    pub(crate) fn new(core: Core, resources: Resources, allow_hosts: AllowList) -> Self {
        Self {
            core,
            resources,
            allow_hosts,
        }
    }

    /// Refuses a source URL the ingester would refuse to fetch, so that
    /// an admin hears of it now rather than from a failing source later.
    fn check_news_source_url(&self, raw: &str) -> Result<(), AppError> {
        let Ok(url) = url::Url::parse(raw.trim()) else {
            // The domain's validation reports it, with every other field.
            return Ok(());
        };
        resourcify_fetch_guard::check_url(&self.allow_hosts, &url).map_err(|refusal| {
            AppError::Invalid(ValidationErrors::single(
                "url",
                format!("refused: {refusal}"),
            ))
        })
    }

    /// Adds a news source; admins only. It is polled at once.
    pub async fn add_source(
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
        self.core
            .command_on::<NewsSource>(caller.user_id, id, &request, meta, command)
            .await
    }

    /// Changes a source's URL, title, tags or interval; admins only.
    pub async fn update_source(
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
        self.core
            .command_on::<NewsSource>(caller.user_id, id, &request, meta, command)
            .await
    }

    /// Stops polling a source; its items stay. Admins only.
    pub async fn remove_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let remove = |actor, at| NewsSourceCommand::Remove { actor, at };
        self.admin_command(caller, id, "remove_news_source", meta, remove)
            .await
    }

    /// Has a source polled now, whatever its schedule or back-off.
    pub async fn refresh_source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let refresh = |actor, at| NewsSourceCommand::RequestRefresh { actor, at };
        self.admin_command(caller, id, "refresh_news_source", meta, refresh)
            .await
    }

    /// Runs a command on source `id` that says no more than who and when:
    /// an admin's, as every change to a source.
    async fn admin_command(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        operation: &'static str,
        meta: &CommandMeta,
        command: impl FnOnce(Actor, DateTime<Utc>) -> NewsSourceCommand,
    ) -> Result<CommandOutcome, AppError> {
        caller.actor.ensure_admin()?;
        let command = command(caller.actor.clone(), Utc::now());
        self.core
            .command_on::<NewsSource>(caller.user_id, id, &(operation, id), meta, command)
            .await
    }

    /// Shares a news item with the community: the caller submits it as a
    /// resource of their own (an article, with the item's title, summary
    /// and tags), under the same rules as any submission.
    pub async fn share_item(
        &self,
        caller: &AuthenticatedUser,
        item_id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let item = self.core.store().load::<Resource>(item_id).await?.state;
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
        self.resources.submit(caller, submission, meta).await
    }

    /// The news sources, newest first; admins only (errors name hosts
    /// and addresses).
    pub async fn sources(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<Page<NewsSourceRow>, AppError> {
        caller.actor.ensure_admin()?;
        let sources = async |reads: ReadModel, before, fetch| {
            Ok(reads.news_sources_page(before, fetch).await?)
        };
        let key = |last: &NewsSourceRow| Cursor::Before(last.listed_at);
        newest_first(
            &self.core,
            page,
            &[Projection::News],
            min_position,
            sources,
            key,
        )
        .await
    }

    /// One news source; admins only.
    pub async fn source(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        min_position: Option<u64>,
    ) -> Result<NewsSourceRow, AppError> {
        caller.actor.ensure_admin()?;
        self.core
            .read_from(&[Projection::News], min_position)
            .await?
            .reads
            .news_source_by_id(id)
            .await?
            .ok_or(AppError::NotFound("news source"))
    }

    /// News items, newest first: all, one source's or one tag's; for a
    /// `viewer`, without the items carrying a tag they hide.
    pub async fn list_view(
        &self,
        viewer: Option<&AuthenticatedUser>,
        query: NewsQuery<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let hidden = &self.core.hidden_tags(viewer, min_position).await?;
        let mut errors = ValidationErrors::default();
        let tag = errors.check("tag", query.tag.map(Tag::parse).transpose());
        if query.source.is_some() && query.tag.is_some() {
            errors.check::<()>("tag", Err("filter by one of source, tag at a time".into()));
        }
        let paging = paging(query.page)?;
        let Some(tag) = tag.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let scope = match (query.source, tag) {
            (Some(source), _) => Scope::NewsSource(source),
            (None, Some(tag)) => Scope::NewsTag(tag.as_str().to_owned()),
            (None, None) => Scope::News,
        };
        let key = format!(
            "news {scope} {} {}{}",
            paging.limit,
            query.page.cursor.unwrap_or(""),
            hidden.cache_key()
        );
        self.core
            .cached_list(key, min_position, async move |reads| {
                let (reads, scope) = (&reads, &scope);
                let read = |after: Option<Cursor>, fetch| async move {
                    let before = newest_before(after.as_ref())?;
                    Ok(reads.resources_newest(scope, before, fetch).await?)
                };
                let page = fill_page(&paging, hidden, read, Cursor::newest).await?;
                Ok((render(&page), page.next_cursor))
            })
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
            Some(tag) => Scope::tagged(tag.as_str()),
            None => Scope::FRONT_PAGE,
        };
        // The documents link absolutely, to where the client found them.
        let key = format!("syndication {format} {origin} {} {}", scopes[0], scopes[1]);
        self.core
            .cached_list(key, min_position, async move |reads| {
                let items = reads
                    .resources_in_scopes(&scopes, i64::MAX, SYNDICATION_ENTRIES)
                    .await?;
                Ok((render(&items), None))
            })
            .await
    }

    /// The newest resources a member submitted (those everyone may see),
    /// as a syndication feed rendered by `render`; an unknown or deleted
    /// member is not found.
    pub async fn member_syndication_view(
        &self,
        format: &'static str,
        origin: &str,
        username: &str,
        min_position: Option<u64>,
        render: impl FnOnce(&[resourcify_readmodel::ResourceRow]) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let username = username.trim().to_lowercase();
        // Cached by name, as the member's list is: the id is looked up on
        // a miss, and lists are kept by id.
        let key = format!("syndication {format} {origin} author-name:{username}");
        self.core
            .cached_list(key, min_position, async move |reads| {
                let author = self.core.user_id_by_username(&username).await?;
                let items = reads
                    .resources_newest(&Scope::Author(author), i64::MAX, SYNDICATION_ENTRIES)
                    .await?;
                Ok((render(&items), None))
            })
            .await
    }
}
