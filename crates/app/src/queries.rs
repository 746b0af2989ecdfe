//! The read side of the application: every answer comes from a named,
//! indexed read-model query, after waiting for the caller's position.

use std::sync::Arc;

use bytes::Bytes;

use resourcify_domain::ValidationErrors;
use resourcify_domain::resource::Tag;
use resourcify_readmodel::ResourceRow;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use crate::cache::{CacheOutcome, RenderedView};
use crate::{App, AppError, Cursor};

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// A list request as it arrives.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuery<'a> {
    pub tag: Option<&'a str>,
    pub limit: Option<u32>,
    pub cursor: Option<&'a str>,
}

/// One page of a newest-first list.
#[derive(Debug, Clone)]
pub struct ResourcePage {
    pub items: Vec<ResourceRow>,
    pub next_cursor: Option<String>,
}

impl App {
    pub(crate) async fn wait_for(
        &self,
        projection: Projection,
        min_position: Option<u64>,
    ) -> Result<(), AppError> {
        match min_position {
            Some(position) => {
                self.inner
                    .positions
                    .wait_for(projection, position, self.inner.settings.read_wait)
                    .await
            }
            None => Ok(()),
        }
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
        let generation = cache.generation();
        let position = self.inner.positions.current(Projection::Resources);
        let row = self.resource(id, None).await?;
        let view = Arc::new(RenderedView::new(render(row), position));
        cache.insert_unless_invalidated(id, view.clone(), generation);
        Ok((view, CacheOutcome::Miss))
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

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources(
        &self,
        query: ResourceQuery<'_>,
        min_position: Option<u64>,
    ) -> Result<ResourcePage, AppError> {
        let mut errors = ValidationErrors::default();
        let limit = errors.check(
            "limit",
            match query.limit.unwrap_or(DEFAULT_PAGE_SIZE) {
                n @ 1..=MAX_PAGE_SIZE => Ok(n),
                _ => Err(format!("must be 1 to {MAX_PAGE_SIZE}")),
            },
        );
        let cursor = errors.check(
            "cursor",
            query
                .cursor
                .map(|raw| {
                    Cursor::decode(raw).ok_or_else(|| "is not a cursor this API issued".to_owned())
                })
                .transpose(),
        );
        let tag = errors.check("tag", query.tag.map(Tag::parse).transpose());
        let (Some(limit), Some(cursor), Some(tag)) = (limit, cursor, tag) else {
            return Err(AppError::Invalid(errors));
        };

        self.wait_for(Projection::Resources, min_position).await?;
        let before = cursor.map_or(i64::MAX, |c| c.before);
        // One row more than asked tells whether another page exists.
        let fetch = i64::from(limit) + 1;
        let reads = &self.inner.reads;
        let mut items = match &tag {
            Some(tag) => reads.resources_by_tag(tag.as_str(), before, fetch).await?,
            None => reads.resources_newest(before, fetch).await?,
        };
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| {
                Cursor {
                    before: last.listed_at,
                }
                .encode()
            })
        } else {
            None
        };
        Ok(ResourcePage { items, next_cursor })
    }
}
