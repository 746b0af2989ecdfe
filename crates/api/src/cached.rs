//! Answers built from rendered views: ETag and `If-None-Match` (304),
//! `Cache-Control`, `X-Cache`, and the RFC 8288 `Link` to the next page.

use std::sync::Arc;

use bytes::Bytes;
use poem_openapi::ApiResponse;
use poem_openapi::types::{ToJSON, Type};
use resourcify_app::{AppError, CacheOutcome, RenderedView};

use crate::ApiError;
use crate::extract::{ConditionalRead, Page};
use crate::header_text::HeaderText;
use crate::rendered::RenderedJson;

/// Public data: shared caches may keep it, but must revalidate (cheap: 304).
pub(crate) const PUBLIC_REVALIDATE: &str = "public, max-age=0, must-revalidate";
/// One user's data: never stored by shared caches.
pub(crate) const PRIVATE: &str = "private, no-store";
/// One user's data kept on this node: the user's own browser may keep it
/// and revalidate it (cheap: 304); shared caches never store it.
pub(crate) const PRIVATE_REVALIDATE: &str = "private, no-cache";

#[derive(ApiResponse)]
pub(crate) enum CachedResponse<T: Type + ToJSON + Send> {
    #[oai(status = 200)]
    Ok(
        RenderedJson<T>,
        #[oai(header = "ETag")] HeaderText,
        #[oai(header = "Cache-Control")] HeaderText,
        /// `hit` when answered from this node's memory, `miss` otherwise.
        #[oai(header = "X-Cache")]
        HeaderText,
        /// `<…>; rel="next"` (RFC 8288) while there are more pages.
        #[oai(header = "Link")]
        Option<String>,
    ),
    /// Unchanged since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "ETag")] HeaderText,
        #[oai(header = "Cache-Control")] HeaderText,
    ),
}

const PUBLIC: HeaderText = HeaderText::from_static(PUBLIC_REVALIDATE);
const FOR_ONE_MEMBER: HeaderText = HeaderText::from_static(PRIVATE_REVALIDATE);
const HIT: HeaderText = HeaderText::from_static("hit");
const MISS: HeaderText = HeaderText::from_static("miss");

/// A rendered view as the application gives it, and whether it came from
/// this node's memory.
type View = (Arc<RenderedView>, CacheOutcome);

impl<T: Type + ToJSON + Send> CachedResponse<T> {
    /// The answer for a single view.
    pub(crate) fn view(view: View, read: &ConditionalRead) -> Self {
        Self::answer(view, read, None)
    }

    /// Reads the page `page` names of a cached list, as `read` asks: `list`
    /// is given the position to wait for and the renderer of what it finds
    /// as `T`. The answer links the next page.
    pub(crate) async fn list<S: ?Sized>(
        read: &ConditionalRead,
        page: &Page,
        list: impl AsyncFnOnce(Option<u64>, fn(&S) -> Bytes) -> Result<View, AppError>,
    ) -> Result<Self, ApiError>
    where
        for<'a> T: From<&'a S>,
    {
        let view = list(read.min_position, RenderedJson::<T>::render_from).await?;
        let link = page.next_link(view.0.next_cursor.as_deref());
        Ok(Self::answer(view, read, link))
    }

    /// The same answer, of one member's view (their inbox, say): for
    /// their browser alone, never for a shared cache.
    pub(crate) fn for_one_member(self) -> Self {
        match self {
            Self::Ok(body, etag, _, cache, link) => {
                Self::Ok(body, etag, FOR_ONE_MEMBER, cache, link)
            }
            Self::NotModified(etag, _) => Self::NotModified(etag, FOR_ONE_MEMBER),
        }
    }

    fn answer((view, outcome): View, read: &ConditionalRead, link: Option<String>) -> Self {
        let etag = HeaderText(view.etag_header.clone());
        if etag_matches(read.if_none_match.0.as_deref(), &view.etag) {
            return Self::NotModified(etag, PUBLIC);
        }
        let cache = match outcome {
            CacheOutcome::Hit => HIT,
            CacheOutcome::Miss => MISS,
        };
        Self::Ok(
            RenderedJson::from_bytes(view.body.clone()),
            etag,
            PUBLIC,
            cache,
            link,
        )
    }
}

/// Whether an `If-None-Match` header names `etag` (or `*`). The comparison
/// is the weak one that RFC 9110 (13.1.2) prescribes for `If-None-Match`:
/// `W/"x"` matches `"x"`, since proxies and browsers weaken tags they pass on.
pub(crate) fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let etag = opaque(etag);
    if_none_match.is_some_and(|tags| {
        tags.split(',')
            .any(|t| t.trim() == "*" || opaque(t) == etag)
    })
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(etag_matches(Some("W/\"abc\""), "\"abc\""));
        assert!(etag_matches(Some("\"x\", W/\"abc\""), "\"abc\""));
        assert!(etag_matches(Some("*"), "\"abc\""));
        assert!(!etag_matches(Some("W/\"abd\""), "\"abc\""));
        assert!(!etag_matches(None, "\"abc\""));
    }
}

/// One user's data: never cached by anyone but the user.
#[derive(ApiResponse)]
pub(crate) enum PrivateResponse<T: Type + ToJSON + Send> {
    #[oai(status = 200)]
    Ok(
        poem_openapi::payload::Json<T>,
        #[oai(header = "Cache-Control")] String,
        /// `<…>; rel="next"` (RFC 8288) while there are more pages.
        #[oai(header = "Link")]
        Option<String>,
    ),
}

impl<T: Type + ToJSON + Send> PrivateResponse<T> {
    /// One user's single thing.
    pub(crate) fn one(body: T) -> Self {
        Self::Ok(poem_openapi::payload::Json(body), PRIVATE.to_owned(), None)
    }

    /// A page of one user's list, linking the next page.
    pub(crate) fn page<I>(items: resourcify_app::Page<I>, page: &Page) -> Self
    where
        T: From<resourcify_app::Page<I>>,
    {
        let link = page.next_link(items.next_cursor.as_deref());
        Self::Ok(
            poem_openapi::payload::Json(items.into()),
            PRIVATE.to_owned(),
            link,
        )
    }
}
