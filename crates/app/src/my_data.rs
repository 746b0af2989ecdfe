//! A member's own data: everything the views hold about the caller, as one
//! export (the right of access and to portability).

use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{
    AccountRow, AuthoredComment, BookmarkRow, CommentVoteRow, FlagRow, FollowedUser, ResourceRow,
    SessionRow, VoteRow,
};

use crate::core::Core;
use crate::credentials::AuthenticatedUser;
use crate::error::AppError;

/// The most items of each kind an export holds, newest first. Each kind is
/// one index range read at once, so the bound keeps one request's work and
/// memory small whoever asks; a member beyond it on some kind is told so by
/// [`MemberData::truncated`] (follows have a cap of 1,000 of their own).
pub const EXPORT_LIMIT_PER_KIND: usize = 10_000;

/// Everything the views hold about one member.
#[derive(Debug, Clone)]
pub struct MemberData {
    pub account: AccountRow,
    pub email: String,
    pub followed_tags: Vec<String>,
    pub followed_users: Vec<FollowedUser>,
    pub hidden_tags: Vec<String>,
    pub resources: Vec<ResourceRow>,
    pub comments: Vec<AuthoredComment>,
    pub votes: Vec<VoteRow>,
    pub comment_votes: Vec<CommentVoteRow>,
    /// Open flags (withdrawn and dismissed ones are not kept).
    pub flags: Vec<FlagRow>,
    pub bookmarks: Vec<BookmarkRow>,
    pub sessions: Vec<SessionRow>,
    /// The kinds that had more than [`EXPORT_LIMIT_PER_KIND`] items
    /// (`resources`, `comments`, `votes`, `comment_votes`, `flags`,
    /// `bookmarks`, `sessions`).
    pub truncated: Vec<&'static str>,
}

/// Members' own data.
#[derive(Debug, Clone)]
pub struct MyData {
    core: Core,
}

impl MyData {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// The caller's data from every view that holds some, each read once
    /// the caller's position (if given) is in it.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %caller.user_id))]
    pub async fn export(
        &self,
        caller: &AuthenticatedUser,
        min_position: Option<u64>,
    ) -> Result<MemberData, AppError> {
        let views = [
            Projection::Users,
            Projection::Resources,
            Projection::Comments,
            Projection::Bookmarks,
            Projection::Flags,
        ];
        let reads = self.core.read_from(&views, min_position).await?.reads;
        let user_id = caller.user_id;
        // One more than the bound tells a full list from a cut one.
        let limit = EXPORT_LIMIT_PER_KIND as i64 + 1;
        let account = reads
            .account_by_id(user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let email = reads.email_by_user(user_id).await?.unwrap_or_default();
        let mut truncated = Vec::new();
        let resources = reads.resources_by_author(user_id, limit).await?;
        let comments = reads.comments_by_author(user_id, limit).await?;
        let votes = reads.votes_by_user(user_id, limit).await?;
        let comment_votes = reads.comment_votes_by_user(user_id, limit).await?;
        let flags = reads.flags_by_user(user_id, limit).await?;
        let bookmarks = reads.bookmark_entries_by_user(user_id, limit).await?;
        let sessions = reads.sessions_by_user(user_id, limit).await?;
        Ok(MemberData {
            account,
            email,
            followed_tags: reads.followed_tags(user_id).await?,
            followed_users: reads.followed_users(user_id).await?,
            hidden_tags: reads.hidden_tags(user_id).await?,
            resources: bound(&mut truncated, "resources", resources),
            comments: bound(&mut truncated, "comments", comments),
            votes: bound(&mut truncated, "votes", votes),
            comment_votes: bound(&mut truncated, "comment_votes", comment_votes),
            flags: bound(&mut truncated, "flags", flags),
            bookmarks: bound(&mut truncated, "bookmarks", bookmarks),
            sessions: bound(&mut truncated, "sessions", sessions),
            truncated,
        })
    }
}

/// `items` cut to [`EXPORT_LIMIT_PER_KIND`], noting `kind` in `truncated`
/// when that dropped some.
fn bound<T>(truncated: &mut Vec<&'static str>, kind: &'static str, mut items: Vec<T>) -> Vec<T> {
    if items.len() > EXPORT_LIMIT_PER_KIND {
        items.truncate(EXPORT_LIMIT_PER_KIND);
        truncated.push(kind);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_beyond_the_bound_keeps_its_newest_and_says_so() {
        let mut truncated = Vec::new();
        let full: Vec<usize> = (0..EXPORT_LIMIT_PER_KIND).collect();
        assert_eq!(bound(&mut truncated, "votes", full).len(), 10_000);
        assert!(truncated.is_empty());
        let over: Vec<usize> = (0..=EXPORT_LIMIT_PER_KIND).collect();
        let kept = bound(&mut truncated, "comments", over);
        assert_eq!((kept.len(), kept[0]), (10_000, 0));
        assert_eq!(truncated, ["comments"]);
    }
}
