//! The read side of the application: every answer comes from a named,
//! indexed read-model query, after waiting for the caller's position; lists
//! everyone sees are rendered once and kept in memory until a projector
//! reports a change.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use resourcify_domain::ValidationErrors;
use resourcify_domain::resource::{ResourceKind, Tag};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{
    AccountRow, CommentRow, FollowedUser, ModerationEntry, ProfileRow, ResourceRow, TagCount,
};
use uuid::Uuid;

use crate::auth::AuthenticatedUser;
use crate::cache::{CacheOutcome, RenderedView, ViewCache};
use crate::{App, AppError, Cursor};

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

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

/// Paging input as it arrives.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest<'a> {
    pub limit: Option<u32>,
    pub cursor: Option<&'a str>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub type ResourcePage = Page<ResourceRow>;

/// One's own account as the views show it.
#[derive(Debug, Clone)]
pub struct Account {
    pub account: AccountRow,
    pub followed_tags: Vec<String>,
    pub followed_users: Vec<FollowedUser>,
}

/// A checked page request: the size and where to continue.
pub(crate) struct Paging {
    pub(crate) limit: u32,
    pub(crate) cursor: Option<Cursor>,
}

impl Paging {
    /// One row more than asked tells whether another page exists.
    pub(crate) fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Cuts the extra row and makes the next cursor from the last row kept.
    pub(crate) fn page<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> Cursor) -> Page<T> {
        let next_cursor = if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            items.last().map(|last| key(last).encode())
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

fn check_paging(request: PageRequest<'_>, errors: &mut ValidationErrors) -> Option<Paging> {
    let limit = errors.check(
        "limit",
        match request.limit.unwrap_or(DEFAULT_PAGE_SIZE) {
            n @ 1..=MAX_PAGE_SIZE => Ok(n),
            _ => Err(format!("must be 1 to {MAX_PAGE_SIZE}")),
        },
    );
    let cursor = errors.check(
        "cursor",
        request
            .cursor
            .map(|raw| Cursor::decode(raw).ok_or_else(|| "is not a cursor this API issued".into()))
            .transpose(),
    );
    Some(Paging {
        limit: limit?,
        cursor: cursor?,
    })
}

/// A page request on its own, checked.
pub(crate) fn paging(request: PageRequest<'_>) -> Result<Paging, AppError> {
    let mut errors = ValidationErrors::default();
    check_paging(request, &mut errors).ok_or(AppError::Invalid(errors))
}

impl Paging {
    /// For newest-first lists: the position to continue before.
    /// For best-first lists (hot, search): the keyset to continue after.
    pub(crate) fn after_scored(&self) -> Result<(f64, i64), AppError> {
        match self.cursor {
            None => Ok((f64::MAX, i64::MAX)),
            Some(Cursor::Scored { score, listed_at }) => Ok((score, listed_at)),
            Some(_) => Err(wrong_cursor()),
        }
    }

    pub(crate) fn before(&self) -> Result<i64, AppError> {
        match self.cursor {
            None => Ok(i64::MAX),
            Some(Cursor::Before(before)) => Ok(before),
            Some(_) => Err(wrong_cursor()),
        }
    }
}

pub(crate) fn wrong_cursor() -> AppError {
    AppError::Invalid(ValidationErrors::single(
        "cursor",
        "belongs to another list or order",
    ))
}

impl App {
    pub(crate) async fn wait_for(
        &self,
        projection: Projection,
        min_position: Option<u64>,
    ) -> Result<(), AppError> {
        match min_position {
            Some(position) => {
                if position > self.inner.positions.current(projection) {
                    self.ensure_in_log(position).await?;
                }
                self.inner
                    .positions
                    .wait_for(projection, position, self.inner.settings.read_wait)
                    .await
            }
            None => Ok(()),
        }
    }

    /// Refuses at once a position beyond the head of the log, rather than
    /// holding a read slot for the whole wait. The head is asked of the log
    /// only when a position is beyond the newest this node has seen, so a
    /// read that waits for a fresh write asks once, and others not at all.
    async fn ensure_in_log(&self, position: u64) -> Result<(), AppError> {
        if position <= self.inner.positions.known_head() {
            return Ok(());
        }
        let head = self.inner.store.head().await?;
        self.inner.positions.saw_head(head);
        if position > head {
            return Err(AppError::PositionBeyondHead { position, head });
        }
        Ok(())
    }

    /// A view from `cache`, or built by `build` (bytes and next cursor) and
    /// cached unless a projector changed something meanwhile.
    pub(crate) async fn cached<F, Fut>(
        &self,
        cache: &ViewCache<String>,
        projection: Projection,
        key: String,
        min_position: Option<u64>,
        build: F,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Bytes, Option<String>), AppError>>,
    {
        if let Some(view) = cache.get(&key, min_position) {
            return Ok((view, CacheOutcome::Hit));
        }
        self.wait_for(projection, min_position).await?;
        cache
            .load(&key, min_position, || async {
                let position = self.inner.positions.current(projection);
                let (body, next_cursor) = build().await?;
                Ok(RenderedView::new(body, position).with_next_cursor(next_cursor))
            })
            .await
    }

    /// One resource, rendered by `render`, from memory when possible.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn resource_view(
        &self,
        id: Uuid,
        min_position: Option<u64>,
        render: impl FnOnce(ResourceRow) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let cache = &self.inner.resource_views;
        if let Some(view) = cache.get(&id, min_position) {
            return Ok((view, CacheOutcome::Hit));
        }
        self.wait_for(Projection::Resources, min_position).await?;
        cache
            .load(&id, min_position, || async {
                let position = self.inner.positions.current(Projection::Resources);
                let row = self.resource(id, None).await?;
                Ok(RenderedView::new(render(row), position))
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resource(
        &self,
        id: Uuid,
        min_position: Option<u64>,
    ) -> Result<ResourceRow, AppError> {
        self.wait_for(Projection::Resources, min_position).await?;
        self.inner
            .reads
            .resource_by_id(id)
            .await?
            .filter(ResourceRow::is_public)
            .ok_or(AppError::NotFound("resource"))
    }

    /// A list of resources (all, or one tag's, kind's or author's), in the
    /// asked order, rendered by `render`, from memory when possible.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn resources_view(
        &self,
        query: ResourceQuery<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
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
        let list = match (&tag, kind, &author) {
            (Some(tag), _, _) => format!("tag:{}", tag.as_str()),
            (_, Some(kind), _) => format!("kind:{kind}"),
            (_, _, Some(author)) => format!("author-name:{author}"),
            _ => "all".to_owned(),
        };
        let key = format!(
            "resources {list} {sort:?} {} {}",
            paging.limit,
            query.cursor.unwrap_or("")
        );
        self.cached(
            &self.inner.list_views,
            Projection::Resources,
            key,
            min_position,
            || async move {
                // Lists are kept by author id, which outlives a rename.
                let scope = match author {
                    Some(author) => format!("author:{}", self.user_id_by_username(&author).await?),
                    None => list,
                };
                let page = self.resource_page(&scope, sort, &paging).await?;
                Ok((render(&page), page.next_cursor))
            },
        )
        .await
    }

    async fn resource_page(
        &self,
        scope: &str,
        sort: Sort,
        paging: &Paging,
    ) -> Result<ResourcePage, AppError> {
        let reads = &self.inner.reads;
        let fetch = paging.fetch();
        let items = match (sort, &paging.cursor) {
            (Sort::New, None) => reads.resources_newest(scope, i64::MAX, fetch).await?,
            (Sort::New, Some(Cursor::Before(before))) => {
                reads.resources_newest(scope, *before, fetch).await?
            }
            (Sort::Top, None) => {
                reads
                    .resources_top(scope, (i32::MAX, i64::MAX), fetch)
                    .await?
            }
            (Sort::Top, Some(Cursor::Top { votes, listed_at })) => {
                reads
                    .resources_top(scope, (*votes, *listed_at), fetch)
                    .await?
            }
            (Sort::Hot, None) => {
                reads
                    .resources_hot(scope, (f64::MAX, i64::MAX), fetch)
                    .await?
            }
            (Sort::Hot, Some(Cursor::Scored { score, listed_at })) => {
                reads
                    .resources_hot(scope, (*score, *listed_at), fetch)
                    .await?
            }
            _ => return Err(wrong_cursor()),
        };
        Ok(paging.page(items, |last| match sort {
            Sort::New => Cursor::Before(last.listed_at),
            Sort::Top => Cursor::Top {
                votes: last.votes,
                listed_at: last.listed_at,
            },
            Sort::Hot => Cursor::Scored {
                score: last.score,
                listed_at: last.listed_at,
            },
        }))
    }

    /// The front page: members' resources and news, hot first.
    pub async fn feed_view(
        &self,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&ResourcePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let paging = paging(page)?;
        let after = paging.after_scored()?;
        let key = format!("feed {} {}", paging.limit, page.cursor.unwrap_or(""));
        self.cached(
            &self.inner.list_views,
            Projection::Resources,
            key,
            min_position,
            || async move {
                let scopes = ["all".to_owned(), "news".to_owned()];
                let items = self
                    .inner
                    .reads
                    .resources_hot_in_scopes(&scopes, after, paging.fetch())
                    .await?;
                let page = paging.page(items, |last| Cursor::Scored {
                    score: last.score,
                    listed_at: last.listed_at,
                });
                Ok((render(&page), page.next_cursor))
            },
        )
        .await
    }

    /// The caller's feed: resources and news with a followed tag, and
    /// resources by a followed user, newest first.
    pub async fn personal_feed(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<ResourcePage, AppError> {
        let paging = paging(page)?;
        let before = paging.before()?;
        self.wait_for(Projection::Users, min_position).await?;
        self.wait_for(Projection::Resources, min_position).await?;
        let reads = &self.inner.reads;
        let tags = reads.followed_tags(caller.user_id).await?;
        let users = reads.followed_users(caller.user_id).await?;
        let scopes: Vec<String> = tags
            .iter()
            .flat_map(|tag| [format!("tag:{tag}"), format!("news:tag:{tag}")])
            .chain(users.iter().map(|u| format!("author:{}", u.user_id)))
            .collect();
        let items = if scopes.is_empty() {
            Vec::new()
        } else {
            reads
                .resources_in_scopes(&scopes, before, paging.fetch())
                .await?
        };
        Ok(paging.page(items, |last| Cursor::Before(last.listed_at)))
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
        self.cached(
            &self.inner.list_views,
            Projection::Resources,
            key,
            min_position,
            || async move {
                let items = self
                    .inner
                    .reads
                    .resources_search(text, after, paging.fetch())
                    .await?;
                let page = paging.page(items, |last| Cursor::Scored {
                    score: last.score,
                    listed_at: last.listed_at,
                });
                Ok((render(&page), page.next_cursor))
            },
        )
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
        self.cached(
            &self.inner.list_views,
            Projection::Resources,
            key,
            min_position,
            || async move {
                let items = self
                    .inner
                    .reads
                    .tags_by_count((after.0, &after.1), paging.fetch())
                    .await?;
                let page = paging.page(items, |last| Cursor::Tag {
                    count: last.resources,
                    tag: last.tag.clone(),
                });
                Ok((render(&page), page.next_cursor))
            },
        )
        .await
    }

    /// A resource's comments in thread order.
    pub async fn comments_view(
        &self,
        resource_id: Uuid,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&Page<CommentRow>) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let paging = paging(page)?;
        let after = match &paging.cursor {
            None => String::new(),
            Some(Cursor::Path(path)) => path.clone(),
            Some(_) => return Err(wrong_cursor()),
        };
        self.wait_for(Projection::Comments, min_position).await?;
        // Comments of what one may not see are not seen either.
        self.resource(resource_id, min_position).await?;
        let key = format!(
            "comments {resource_id} {} {}",
            paging.limit,
            page.cursor.unwrap_or("")
        );
        self.cached(
            &self.inner.comment_views,
            Projection::Comments,
            key,
            min_position,
            || async move {
                let items = self
                    .inner
                    .reads
                    .comments_by_resource(resource_id, &after, paging.fetch())
                    .await?;
                let page = paging.page(items, |last| Cursor::Path(last.path.clone()));
                Ok((render(&page), page.next_cursor))
            },
        )
        .await
    }

    /// The caller's bookmarks, newest first.
    pub async fn bookmarks(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<ResourcePage, AppError> {
        let paging = paging(page)?;
        let before = paging.before()?;
        // The list joins the resources view: both must show the position.
        self.wait_for(Projection::Bookmarks, min_position).await?;
        self.wait_for(Projection::Resources, min_position).await?;
        let items = self
            .inner
            .reads
            .bookmarks_by_user(caller.user_id, before, paging.fetch())
            .await?;
        Ok(paging.page(items, |last| Cursor::Before(last.listed_at)))
    }

    /// The public moderation log, newest first.
    pub async fn moderation_log(
        &self,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<Page<ModerationEntry>, AppError> {
        let paging = paging(page)?;
        let before = paging.before()?;
        self.wait_for(Projection::Resources, min_position).await?;
        let items = self
            .inner
            .reads
            .moderation_log(before, paging.fetch())
            .await?;
        Ok(paging.page(items, |last| Cursor::Before(last.position)))
    }

    /// A user's public profile.
    pub async fn profile(
        &self,
        username: &str,
        min_position: Option<u64>,
    ) -> Result<ProfileRow, AppError> {
        self.wait_for(Projection::Users, min_position).await?;
        self.inner
            .reads
            .profile_by_username(&username.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound("user"))
    }

    /// The caller's own account.
    pub async fn account(
        &self,
        caller: &AuthenticatedUser,
        min_position: Option<u64>,
    ) -> Result<Account, AppError> {
        self.wait_for(Projection::Users, min_position).await?;
        let reads = &self.inner.reads;
        let account = reads
            .account_by_id(caller.user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(Account {
            account,
            followed_tags: reads.followed_tags(caller.user_id).await?,
            followed_users: reads.followed_users(caller.user_id).await?,
        })
    }
}
