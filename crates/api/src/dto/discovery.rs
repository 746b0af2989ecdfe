//! Tags and their counts on the wire.

use poem_openapi::Object;

/// A tag and how many resources carry it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TagCount {
    pub tag: String,
    pub resources: u32,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TagList {
    pub items: Vec<TagCount>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<&resourcify_app::Page<resourcify_app::TagCount>> for TagList {
    fn from(page: &resourcify_app::Page<resourcify_app::TagCount>) -> Self {
        Self {
            items: page
                .items
                .iter()
                .map(|t| TagCount {
                    tag: t.tag.clone(),
                    resources: t.resources.max(0) as u32,
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}
