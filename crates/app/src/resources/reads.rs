//! Reading resources: one by id, the public lists in three orders, the
//! front page, search, tags, and one's bookmarks. Lists everyone sees are
//! rendered once and kept in memory until a projector reports a change.

use std::sync::Arc;

use bytes::Bytes;
use resourcify_domain::ValidationErrors;
use resourcify_domain::resource::{ResourceKind, Tag};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ReadModel, ResourceRow, Scope, TagCount};
use uuid::Uuid;

use super::Resources;
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::hidden_tags::{HiddenTags, fill_page};
use crate::paging::{Page, PageRequest, ResourcePage};
use crate::paging::{Paging, check_paging, newest_first, paging, scored_after, wrong_cursor};
use crate::views::{CacheOutcome, RenderedView};

/// How a list of resources is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    New,
    /// Most upvoted first, then newest.
    Top,
    /// Votes decayed by age, then newest.
    Hot,
}

/// A list request as it arrives. At most one of `tag`, `kind`, `author`.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuery<'a> {
    pub tag: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// A username.
    pub author: Option<&'a str>,
    /// `new` (default), `top` or `hot`.
    pub sort: Option<&'a str>,
    pub limit: Option<u32>,
    pub cursor: Option<&'a str>,
}

impl Resources {
    /// One resource, rendered by `render`, from memory when possible.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn resource_view(
        &self,
        id: Uuid,
        min_position: Option<u64>,
        render: impl FnOnce(ResourceRow) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let cache = &self.core.views().resources;
        if let Some(view) = cache.get(&id, min_position) {
            return Ok((view, CacheOutcome::Hit));
        }
        let source = self
            .core
            .read_from(&[Projection::Resources], min_position)
            .await?;
        cache
            .load(&id, min_position, || async {
                let row = source
                    .reads
                    .resource_by_id(id)
                    .await?
                    .filter(ResourceRow::is_public)
                    .ok_or(AppError::NotFound("resource"))?;
                Ok(RenderedView::new(render(row), source.position)
                    .read_from_replica(source.replica))
            })
            .await
    }

    /// One resource everyone may see.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resource(
        &self,
        id: Uuid,
        min_position: Option<u64>,
    ) -> Result<ResourceRow, AppError> {
        self.core.public_resource(id, min_position).await
    }

    /// A list of resources (all, or one tag's, kind's or author's), in the
    /// asked order, rendered by `render`, from memory when possible.
    /// For a `viewer`, without the resources carrying a tag they hide.
    #[tracing::instrument(level = "debug", skip(self, viewer, render))]
    pub async fn list_view(
        &self,
        viewer: Option<&AuthenticatedUser>,
        query: ResourceQuery<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let hidden = &self.core.hidden_tags(viewer, min_position).await?;
        let mut errors = ValidationErrors::default();
        let paging = check_paging(
            PageRequest {
                limit: query.limit,
                cursor: query.cursor,
            },
            &mut errors,
        );
        let sort = errors.check(
            "sort",
            match query.sort.unwrap_or("new") {
                "new" => Ok(Sort::New),
                "top" => Ok(Sort::Top),
                "hot" => Ok(Sort::Hot),
                _ => Err("must be one of new, top, hot".to_owned()),
            },
        );
        let tag = errors.check("tag", query.tag.map(Tag::parse).transpose());
        let kind = errors.check(
            "kind",
            query.kind.map(str::parse::<ResourceKind>).transpose(),
        );
        let filters = [query.tag, query.kind, query.author];
        if filters.iter().flatten().count() > 1 {
            errors.check::<()>(
                "tag",
                Err("filter by one of tag, kind, author at a time".into()),
            );
        }
        let (Some(paging), Some(sort), Some(tag), Some(kind)) = (paging, sort, tag, kind) else {
            return Err(AppError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let author = query.author.map(|name| name.trim().to_lowercase());
        let listed = match (tag, kind) {
            (Some(tag), _) => Scope::Tag(tag.as_str().to_owned()),
            (_, Some(kind)) => Scope::Kind(kind.to_string()),
            _ => Scope::All,
        };
        // An author's list is cached by name: the id is looked up on a miss.
        let list = match &author {
            Some(author) => format!("author-name:{author}"),
            None => listed.to_string(),
        };
        let key = format!(
            "resources {list} {sort:?} {} {}{}",
            paging.limit,
            query.cursor.unwrap_or(""),
            hidden.cache_key()
        );
        self.core
            .cached_list(key, min_position, async move |reads| {
                // Lists are kept by author id, which outlives a rename.
                let scope = match author {
                    Some(author) => Scope::Author(self.core.user_id_by_username(&author).await?),
                    None => listed,
                };
                let page = resource_page(&reads, &scope, sort, &paging, hidden).await?;
                Ok((render(&page), page.next_cursor))
            })
            .await
    }
}

/// A page of `scope`'s resources in `sort`'s order, without what `hidden`
/// leaves out.
async fn resource_page(
    reads: &ReadModel,
    scope: &Scope,
    sort: Sort,
    paging: &Paging,
    hidden: &HiddenTags,
) -> Result<ResourcePage, AppError> {
    let key: fn(&ResourceRow) -> Cursor = match sort {
        Sort::New => Cursor::newest,
        Sort::Top => Cursor::top,
        Sort::Hot => Cursor::scored,
    };
    let read = |after: Option<Cursor>, fetch| async move {
        Ok(match (sort, after) {
            (Sort::New, None) => reads.resources_newest(scope, i64::MAX, fetch).await?,
            (Sort::New, Some(Cursor::Before(before))) => {
                reads.resources_newest(scope, before, fetch).await?
            }
            (Sort::Top, None) => {
                reads
                    .resources_top(scope, (i32::MAX, i64::MAX), fetch)
                    .await?
            }
            (Sort::Top, Some(Cursor::Top { votes, listed_at })) => {
                reads
                    .resources_top(scope, (votes, listed_at), fetch)
                    .await?
            }
            (Sort::Hot, None) => {
                reads
                    .resources_hot(scope, (f64::MAX, i64::MAX), fetch)
                    .await?
            }
            (Sort::Hot, Some(Cursor::Scored { score, listed_at })) => {
                reads
                    .resources_hot(scope, (score, listed_at), fetch)
                    .await?
            }
            _ => return Err(wrong_cursor()),
        })
    };
    fill_page(paging, hidden, read, key).await
}

impl Resources {
    /// The front page: members' resources and news, hot first; for a
    /// `viewer`, without the resources carrying a tag they hide.
    pub async fn feed_view(
        &self,
        viewer: Option<&AuthenticatedUser>,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let hidden = &self.core.hidden_tags(viewer, min_position).await?;
        let paging = paging(page)?;
        let key = format!(
            "feed {} {}{}",
            paging.limit,
            page.cursor.unwrap_or(""),
            hidden.cache_key()
        );
        self.core
            .cached_list(key, min_position, async move |reads| {
                let reads = &reads;
                let read = |after: Option<Cursor>, fetch| async move {
                    let after = scored_after(after.as_ref())?;
                    let scopes = &Scope::FRONT_PAGE;
                    Ok(reads.resources_hot_in_scopes(scopes, after, fetch).await?)
                };
                let page = fill_page(&paging, hidden, read, Cursor::scored).await?;
                Ok((render(&page), page.next_cursor))
            })
            .await
    }

    /// Ranked full-text search over resources everyone may see.
    pub async fn search_view(
        &self,
        text: &str,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let mut errors = ValidationErrors::default();
        let paging = check_paging(page, &mut errors);
        let text = text.trim();
        let length = text.chars().count();
        errors.check::<()>(
            "q",
            if (1..=200).contains(&length) {
                Ok(())
            } else {
                Err("must be 1 to 200 characters".into())
            },
        );
        let Some(paging) = paging.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let after = paging.after_scored()?;
        let key = format!(
            "search {} {} {text}",
            paging.limit,
            page.cursor.unwrap_or("")
        );
        self.core
            .cached_list(key, min_position, async move |reads| {
                let items = reads.resources_search(text, after, paging.fetch()).await?;
                Ok(paging.rendered(items, Cursor::scored, render))
            })
            .await
    }

    /// Tags by how many resources carry them.
    pub async fn tags_view(
        &self,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&Page<TagCount>) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let paging = paging(page)?;
        let after = match &paging.cursor {
            None => (i32::MAX, String::new()),
            Some(Cursor::Tag { count, tag }) => (*count, tag.clone()),
            Some(_) => return Err(wrong_cursor()),
        };
        let key = format!("tags {} {}", paging.limit, page.cursor.unwrap_or(""));
        self.core
            .cached_list(key, min_position, async move |reads| {
                let items = reads
                    .tags_by_count((after.0, &after.1), paging.fetch())
                    .await?;
                Ok(paging.rendered(
                    items,
                    |last| Cursor::Tag {
                        count: last.resources,
                        tag: last.tag.clone(),
                    },
                    render,
                ))
            })
            .await
    }

    /// The caller's bookmarks, newest first.
    pub async fn bookmarks(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<ResourcePage, AppError> {
        // The list joins the resources view: both must show the position.
        let views = [Projection::Bookmarks, Projection::Resources];
        let bookmarks = async |reads: ReadModel, before, fetch| {
            Ok(reads
                .bookmarks_by_user(caller.user_id, before, fetch)
                .await?)
        };
        newest_first(
            &self.core,
            page,
            &views,
            min_position,
            bookmarks,
            Cursor::newest,
        )
        .await
    }
}
