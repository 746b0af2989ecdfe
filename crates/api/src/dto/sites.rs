//! A site's page.

use poem_openapi::Object;
use poem_openapi::types::Example;
use resourcify_app::SitePage;

use super::Resource;

/// One site (the host of resources' URLs, without `www.`), how many
/// resources everyone may see it has, and a page of them, newest first.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Site {
    /// The site's name: the host, lowercased, one leading `www.` dropped.
    pub domain: String,
    /// Its resources and news items that everyone may see.
    pub resources: u32,
    /// This page of them, newest first.
    pub items: Vec<Resource>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl Example for Site {
    fn example() -> Self {
        Self {
            domain: "blog.rust-lang.org".into(),
            resources: 12,
            items: vec![Resource::example()],
            next_cursor: Some("djI6bjoxMjM0NQ".into()),
        }
    }
}

impl From<&SitePage> for Site {
    fn from(page: &SitePage) -> Self {
        Self {
            domain: page.site.clone(),
            resources: u32::try_from(page.resources).unwrap_or(0),
            items: page
                .page
                .items
                .iter()
                .cloned()
                .map(Resource::from)
                .collect(),
            next_cursor: page.page.next_cursor.clone(),
        }
    }
}
