//! Hidden tags: a member hides tags, and their front page, lists and
//! personal feed leave out every resource carrying one (ADR 23).
//!
//! A list is read in its index order, so a page of a member's list is
//! filled in rounds: read one page's worth of rows after the last row
//! read, keep those without a hidden tag, and go on until the page is
//! full or the list ends. The rounds are bounded ([`MAX_ROUNDS`]), so a
//! member who hides the tag of every recent resource costs a bounded read,
//! never a walk of the whole list.

use chrono::Utc;
use resourcify_domain::ValidationErrors;
use resourcify_domain::resource::Tag;
use resourcify_domain::tag_filter::{TagFilter, TagFilterCommand};
use resourcify_readmodel::ResourceRow;
use resourcify_readmodel::projections::Projection;

use crate::core::Core;
use crate::core::{CommandMeta, CommandOutcome};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::paging::{Paging, ResourcePage};

/// How many reads of `limit + 1` rows one page of a member's list takes at
/// most: a page reads at most `MAX_ROUNDS × (limit + 1)` rows (168 at the
/// default 20, 808 at the largest 100). Only when fewer than `limit` of
/// those carry no hidden tag is the page short; its `next_cursor` then
/// goes on after the last row read, so nothing is skipped or repeated.
pub const MAX_ROUNDS: usize = 8;

/// The tags one member hides; empty for anyone else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HiddenTags(Vec<String>);

impl HiddenTags {
    /// No tag hidden: a list as everyone sees it.
    fn none() -> Self {
        Self::default()
    }

    fn hides(&self, row: &ResourceRow) -> bool {
        row.tags.iter().any(|tag| self.0.contains(tag))
    }

    /// What tells this filter's cached pages apart from others': members
    /// who hide the same tags share them.
    pub(crate) fn cache_key(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(" hiding {}", self.0.join(","))
        }
    }
}

/// One page of a list without the rows that `hidden` leaves out. `read`
/// reads `fetch` rows of the list after a cursor (`None`: from the start);
/// `key` makes the cursor after a row.
///
/// `read` is a plain closure returning a future rather than an async
/// closure: the futures of async closures that borrow are not `Send` for
/// every lifetime, which poem's handlers need.
pub(crate) async fn fill_page<Read, Rows>(
    paging: &Paging,
    hidden: &HiddenTags,
    mut read: Read,
    key: impl Fn(&ResourceRow) -> Cursor,
) -> Result<ResourcePage, AppError>
where
    Read: FnMut(Option<Cursor>, i64) -> Rows,
    Rows: Future<Output = Result<Vec<ResourceRow>, AppError>>,
{
    let fetch = paging.fetch();
    let mut kept = Vec::new();
    let mut after = paging.cursor.clone();
    for _ in 0..MAX_ROUNDS {
        let rows = read(after.clone(), fetch).await?;
        let ended = rows.len() < fetch as usize;
        after = rows.last().map(&key);
        kept.extend(rows.into_iter().filter(|row| !hidden.hides(row)));
        if ended || kept.len() >= fetch as usize {
            return Ok(paging.page(kept, key));
        }
    }
    // The bound is reached with fewer than `limit` rows kept (so `page`
    // sets no cursor): go on after the last row read.
    let mut page = paging.page(kept, key);
    page.next_cursor = after.map(|cursor| cursor.encode());
    Ok(page)
}

/// Hiding and showing tags, and reading which a member hides.
#[derive(Debug, Clone)]
pub struct TagFilters {
    core: Core,
}

impl TagFilters {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Hides `tag` from the caller's lists, or shows it again.
    pub async fn hide(
        &self,
        caller: &AuthenticatedUser,
        tag: &str,
        hide: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let tag = Tag::parse(tag)
            .map_err(|message| AppError::Invalid(ValidationErrors::single("tag", message)))?;
        let request = ("hide_tag", tag.as_str().to_owned(), hide);
        let (actor, at) = (caller.actor.clone(), Utc::now());
        let command = if hide {
            TagFilterCommand::Hide { actor, tag, at }
        } else {
            TagFilterCommand::Unhide { actor, tag, at }
        };
        self.core
            .command_on::<TagFilter>(caller.user_id, caller.user_id, &request, meta, command)
            .await
    }

    /// The tags the caller hides, alphabetically.
    pub async fn hidden(
        &self,
        caller: &AuthenticatedUser,
        min_position: Option<u64>,
    ) -> Result<Vec<String>, AppError> {
        Ok(self.core.hidden_tags(Some(caller), min_position).await?.0)
    }
}

impl Core {
    /// The tags `viewer` hides, once the users view shows `min_position`;
    /// none for an anonymous reader.
    pub(crate) async fn hidden_tags(
        &self,
        viewer: Option<&AuthenticatedUser>,
        min_position: Option<u64>,
    ) -> Result<HiddenTags, AppError> {
        let Some(caller) = viewer else {
            return Ok(HiddenTags::none());
        };
        let reads = self
            .read_from(&[Projection::Users], min_position)
            .await?
            .reads;
        Ok(HiddenTags(reads.hidden_tags(caller.user_id).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use uuid::Uuid;

    fn row(listed_at: i64, tag: &str) -> ResourceRow {
        ResourceRow {
            id: Uuid::from_u128(listed_at as u128),
            listed_at,
            title: String::new(),
            url: String::new(),
            description: String::new(),
            tags: vec![tag.to_owned()],
            kind: "article".to_owned(),
            author_id: Uuid::nil(),
            author_username: None,
            source_id: None,
            source_title: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            version: 1,
            votes: 0,
            hidden: false,
            retracted: false,
            held: false,
            score: 0.0,
        }
    }

    /// A newest-first list of `tags`, the first the newest.
    fn list(tags: &[&str]) -> Vec<ResourceRow> {
        let n = tags.len() as i64;
        tags.iter()
            .enumerate()
            .map(|(i, tag)| row(n - i as i64, tag))
            .collect()
    }

    /// A page of `list` after `cursor`, as the filter reads it, and how
    /// many rows it read.
    async fn page_of(
        list: &[ResourceRow],
        hidden: &[&str],
        limit: u32,
        cursor: Option<Cursor>,
    ) -> (ResourcePage, usize) {
        let paging = Paging { limit, cursor };
        let hidden = HiddenTags(hidden.iter().map(|t| (*t).to_owned()).collect());
        let mut read_rows = 0;
        let page = fill_page(
            &paging,
            &hidden,
            |after, fetch| {
                let before = match after {
                    Some(Cursor::Before(before)) => before,
                    _ => i64::MAX,
                };
                let rows: Vec<_> = list
                    .iter()
                    .filter(|r| r.listed_at < before)
                    .take(fetch as usize)
                    .cloned()
                    .collect();
                read_rows += rows.len();
                std::future::ready(Ok(rows))
            },
            Cursor::newest,
        )
        .await
        .unwrap();
        (page, read_rows)
    }

    fn positions_of(page: &ResourcePage) -> Vec<i64> {
        page.items.iter().map(|r| r.listed_at).collect()
    }

    #[tokio::test]
    async fn pages_stay_full_and_walk_every_visible_row_once() {
        let list = list(&["go", "rust", "go", "go", "rust", "go", "rust", "go"]);
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, _) = page_of(&list, &["go"], 2, cursor).await;
            seen.extend(positions_of(&page));
            match page.next_cursor {
                Some(next) => {
                    assert_eq!(page.items.len(), 2, "a page with more to come is full");
                    cursor = Cursor::decode(&next);
                }
                None => break,
            }
        }
        assert_eq!(seen, vec![7, 4, 2]);
    }

    #[tokio::test]
    async fn nothing_hidden_reads_one_round() {
        let list = list(&["go"; 10]);
        let (page, read) = page_of(&list, &[], 3, None).await;
        assert_eq!(positions_of(&page), vec![10, 9, 8]);
        assert_eq!(read, 4);
        assert!(page.next_cursor.is_some());
    }

    #[tokio::test]
    async fn a_page_reads_at_most_the_bound_and_goes_on_after_it() {
        let mut tags = vec!["go"; 100];
        tags.push("rust");
        let list = list(&tags);
        let (page, read) = page_of(&list, &["go"], 2, None).await;
        assert_eq!(read, MAX_ROUNDS * 3);
        assert!(page.items.is_empty());
        let next = Cursor::decode(page.next_cursor.as_deref().unwrap());
        assert_eq!(next, Some(Cursor::newest(&list[MAX_ROUNDS * 3 - 1])));
        let mut cursor = next;
        let mut seen = Vec::new();
        while let Some(after) = cursor {
            let (page, _) = page_of(&list, &["go"], 2, Some(after)).await;
            seen.extend(positions_of(&page));
            cursor = page.next_cursor.as_deref().and_then(Cursor::decode);
        }
        assert_eq!(seen, vec![1], "the one visible row is reached, once");
    }
}
