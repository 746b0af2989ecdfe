//! Paging, as every list takes it: a size and an opaque cursor in, one
//! page and the next cursor out.

use bytes::Bytes;
use resourcify_domain::ValidationErrors;
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ReadModel, ResourceRow};

use crate::core::Core;
use crate::cursor::Cursor;
use crate::error::AppError;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Paging input as it arrives.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest<'a> {
    pub limit: Option<u32>,
    pub cursor: Option<&'a str>,
}

/// One page of resources.
pub type ResourcePage = Page<ResourceRow>;

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
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

    /// The page of `items`, rendered, and its next cursor: what a cached
    /// list keeps.
    pub(crate) fn rendered<T>(
        &self,
        items: Vec<T>,
        key: impl Fn(&T) -> Cursor,
        render: impl FnOnce(&Page<T>) -> Bytes,
    ) -> (Bytes, Option<String>) {
        let page = self.page(items, key);
        (render(&page), page.next_cursor)
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

pub(crate) fn check_paging(
    request: PageRequest<'_>,
    errors: &mut ValidationErrors,
) -> Option<Paging> {
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
    /// For best-first lists (hot, search): the keyset to continue after.
    pub(crate) fn after_scored(&self) -> Result<(f64, i64), AppError> {
        scored_after(self.cursor.as_ref())
    }

    /// For newest-first lists: the position to continue before.
    pub(crate) fn before(&self) -> Result<i64, AppError> {
        newest_before(self.cursor.as_ref())
    }
}

/// Where a best-first list (hot, search) goes on after `cursor`: the
/// keyset `(score, listed_at)`, the top of the list without one.
pub(crate) fn scored_after(cursor: Option<&Cursor>) -> Result<(f64, i64), AppError> {
    match cursor {
        None => Ok((f64::MAX, i64::MAX)),
        Some(Cursor::Scored { score, listed_at }) => Ok((*score, *listed_at)),
        Some(_) => Err(wrong_cursor()),
    }
}

/// Where a newest-first list goes on after `cursor`: the position to read
/// before.
pub(crate) fn newest_before(cursor: Option<&Cursor>) -> Result<i64, AppError> {
    match cursor {
        None => Ok(i64::MAX),
        Some(Cursor::Before(before)) => Ok(*before),
        Some(_) => Err(wrong_cursor()),
    }
}

/// A page of a newest-first list that is read per request, never cached:
/// read once every view in `views` shows `min_position`. `read` is given
/// where to read (see `Core::read_from`), the key to continue before and
/// how many rows to fetch; `key` makes the
/// next cursor from the last row kept.
pub(crate) async fn newest_first<T>(
    core: &Core,
    page: PageRequest<'_>,
    views: &[Projection],
    min_position: Option<u64>,
    read: impl AsyncFnOnce(ReadModel, i64, i64) -> Result<Vec<T>, AppError>,
    key: impl Fn(&T) -> Cursor,
) -> Result<Page<T>, AppError> {
    let paging = paging(page)?;
    let before = paging.before()?;
    let reads = core.read_from(views, min_position).await?.reads;
    let items = read(reads, before, paging.fetch()).await?;
    Ok(paging.page(items, key))
}

pub(crate) fn wrong_cursor() -> AppError {
    AppError::Invalid(ValidationErrors::single(
        "cursor",
        "belongs to another list or order",
    ))
}
