//! Sites: the resources of one site (the host of their URLs, ADR 20), with
//! how many there are, as a page and as a syndication feed. Only what
//! everyone may see; rendered once per change like every public list.

use std::sync::Arc;

use bytes::Bytes;
use resourcify_domain::ValidationErrors;
use resourcify_domain::site::Site;
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ReadModel, ResourceRow};

use crate::core::Core;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::news::SYNDICATION_ENTRIES;
use crate::paging::{PageRequest, ResourcePage, paging};
use crate::views::{CacheOutcome, RenderedView};

/// The views a site's page reads: which resources are the site's (sites)
/// and the resources themselves.
const SITE_VIEWS: [Projection; 2] = [Projection::Sites, Projection::Resources];

/// One site, its count of visible resources, and a page of them.
#[derive(Debug, Clone)]
pub struct SitePage {
    /// The site's name (`www.` dropped, lowercased).
    pub site: String,
    pub resources: i32,
    /// Newest first.
    pub page: ResourcePage,
}

/// Reading sites.
#[derive(Debug, Clone)]
pub struct Sites {
    core: Core,
}

impl Sites {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// A page of the site `domain` names, rendered by `render`, from memory
    /// when possible. A site with no resource everyone may see is not found.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn site_view(
        &self,
        domain: &str,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&SitePage) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let site = parse_site(domain)?;
        let paging = paging(page)?;
        let before = paging.before()?;
        let key = format!("site {site} {} {}", paging.limit, page.cursor.unwrap_or(""));
        let core = &self.core;
        core.cached(
            &core.views().lists,
            &SITE_VIEWS,
            key,
            min_position,
            async move |reads| {
                let resources = visible_resources(&reads, &site).await?;
                let items = reads
                    .resources_by_site(site.as_str(), before, paging.fetch())
                    .await?;
                let page = SitePage {
                    site: site.into_string(),
                    resources,
                    page: paging.page(items, Cursor::newest),
                };
                let next_cursor = page.page.next_cursor.clone();
                Ok((render(&page), next_cursor))
            },
        )
        .await
    }

    /// The newest resources of the site `domain` names, as a syndication
    /// feed rendered by `render` (given the site's name); `format` and
    /// `origin` keep the renderings apart in the cache.
    pub async fn syndication_view(
        &self,
        format: &'static str,
        origin: &str,
        domain: &str,
        min_position: Option<u64>,
        render: impl FnOnce(&str, &[ResourceRow]) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let site = parse_site(domain)?;
        let key = format!("syndication {format} {origin} site:{site}");
        let core = &self.core;
        core.cached(
            &core.views().lists,
            &SITE_VIEWS,
            key,
            min_position,
            async move |reads| {
                visible_resources(&reads, &site).await?;
                let items = reads
                    .resources_by_site(site.as_str(), i64::MAX, SYNDICATION_ENTRIES)
                    .await?;
                Ok((render(site.as_str(), &items), None))
            },
        )
        .await
    }
}

fn parse_site(domain: &str) -> Result<Site, AppError> {
    Site::parse(domain)
        .map_err(|message| AppError::Invalid(ValidationErrors::single("domain", message)))
}

/// How many resources everyone may see the site has; not found if none.
async fn visible_resources(reads: &ReadModel, site: &Site) -> Result<i32, AppError> {
    reads
        .site_by_name(site.as_str())
        .await?
        .map(|row| row.resources)
        .filter(|count| *count > 0)
        .ok_or(AppError::NotFound("domain"))
}
