//! Sites: the resources of one site (the host of their URLs), with how
//! many there are. The site's Atom feed is served with the other feeds
//! (`news`).

use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};

use crate::ApiError;
use crate::cached::CachedResponse;
use crate::dto::Site;
use crate::extract::{ConditionalRead, Page};

#[derive(Tags)]
enum ApiTags {
    /// Resources grouped by the site their URL points to.
    Sites,
}

#[derive(Debug)]
pub struct SitesApi {
    pub sites: resourcify_app::Sites,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Sites")]
impl SitesApi {
    /// A site and its resources
    ///
    /// The site is the host of a resource's URL, lowercased, with one
    /// leading `www.` dropped: `www.example.org` and `example.org` name the
    /// same site. Answers how many resources everyone may see it has
    /// (news items included) and a page of them, newest first; a site with
    /// none is not found. Pages with `cursor`; the `Link` header names the
    /// next page.
    #[oai(path = "/domains/:domain", method = "get", operation_id = "getDomain")]
    async fn get(
        &self,
        /// A host name: `example.org`.
        #[oai(validator(min_length = 1, max_length = 253))]
        domain: Path<String>,
        page: Page,
        read: ConditionalRead,
    ) -> Result<CachedResponse<Site>, ApiError> {
        CachedResponse::list(&read, &page, async |at, render| {
            self.sites
                .site_view(&domain, page.request(), at, render)
                .await
        })
        .await
    }
}
