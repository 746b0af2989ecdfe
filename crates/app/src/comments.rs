//! Comments: post (top-level or a reply), edit and delete one's own, vote
//! on others', and read a resource's thread in one of its orders.
//! Removing someone's is moderation's.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use resourcify_domain::ValidationErrors;
use resourcify_domain::comment::{Comment, CommentBody, CommentCommand};
use resourcify_domain::comment_vote::{
    CommentVote, CommentVoteCommand, VoteDirection, comment_vote_id,
};
use resourcify_domain::resource::Resource;
use resourcify_readmodel::CommentRow;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use crate::core::{CommandMeta, CommandOutcome};
use crate::core::{Core, created_id, unwritten};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::paging::{Page, PageRequest};
use crate::paging::{paging, wrong_cursor};
use crate::views::{CacheOutcome, RenderedView};

fn body(raw: &str) -> Result<CommentBody, AppError> {
    CommentBody::parse(raw)
        .map_err(|message| AppError::Invalid(ValidationErrors::single("body", message)))
}

/// The order of a thread's comments. Every order keeps each reply under
/// its parent; they differ in how siblings follow one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThreadOrder {
    /// Oldest first.
    #[default]
    Posted,
    /// By the Wilson score lower bound of their upvotes, highest first;
    /// equal scores oldest first
    /// ([`resourcify_domain::comment_vote::wilson_lower_bound`]).
    Top,
    /// Newest first.
    New,
}

impl ThreadOrder {
    /// What a cursor of this order starts with, so that a cursor of one
    /// order is refused by another (the keys look alike).
    fn cursor_prefix(self) -> &'static str {
        match self {
            Self::Posted => "",
            Self::Top => "top/",
            Self::New => "new/",
        }
    }

    /// The key a cursor's path holds, if the cursor is of this order.
    fn key_in(self, path: &str) -> Option<&str> {
        match self {
            Self::Posted => (!path.contains('/')).then_some(path),
            Self::Top | Self::New => path.strip_prefix(self.cursor_prefix()),
        }
    }
}

/// Everything done to and read of comments.
#[derive(Debug, Clone)]
pub struct Comments {
    core: Core,
}

impl Comments {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Comments on a resource, or replies to `parent_id` on the same resource.
    pub async fn post(
        &self,
        caller: &AuthenticatedUser,
        resource_id: Uuid,
        parent_id: Option<Uuid>,
        text: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let body = body(text)?;
        let scope = caller.user_id.to_string();
        let request = ("post_comment", resource_id, parent_id, text);
        let id_scope = format!("comment:{scope}");
        self.core
            .idempotent(&scope, &request, meta, async move |msg_id| {
                let store = self.core.store();
                let comment_id = created_id(&id_scope, meta.idempotency_key.as_deref());
                // The resource, the parent and the comment itself (new
                // unless the id derives from a key) load at once.
                let parent = async {
                    match parent_id {
                        Some(parent_id) => store
                            .load::<Comment>(parent_id)
                            .await
                            .map(|loaded| Some(loaded.state)),
                        None => Ok(None),
                    }
                };
                let loaded = async {
                    match meta.idempotency_key {
                        None => Ok(unwritten::<Comment>()),
                        Some(_) => store.load::<Comment>(comment_id).await,
                    }
                };
                let (resource, parent, loaded) =
                    tokio::join!(store.load::<Resource>(resource_id), parent, loaded);
                let (resource, parent, loaded) = (resource?.state, parent?, loaded?);
                let command = CommentCommand::Post {
                    comment_id,
                    actor: caller.actor.clone(),
                    resource,
                    parent,
                    body,
                    at: Utc::now(),
                };
                let executed = self
                    .core
                    .execute_from::<Comment>(comment_id, &msg_id, meta, &command, Some(loaded))
                    .await?;
                Ok(CommandOutcome {
                    id: comment_id,
                    position: executed.position,
                })
            })
            .await
    }

    /// Changes one's own comment.
    pub async fn edit(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        text: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let command = CommentCommand::Edit {
            actor: caller.actor.clone(),
            body: body(text)?,
            at: Utc::now(),
        };
        let request = ("edit_comment", id, text);
        self.core
            .command_on::<Comment>(caller.user_id, id, &request, meta, command)
            .await
    }

    /// Takes one's own comment down.
    pub async fn delete(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let command = CommentCommand::Delete {
            actor: caller.actor.clone(),
            at: Utc::now(),
        };
        self.core
            .command_on::<Comment>(caller.user_id, id, &("delete_comment", id), meta, command)
            .await
    }

    /// Votes on someone else's comment, `Some` way, or takes one's vote
    /// back (`None`). Each member's vote on a comment is its own
    /// aggregate, so votes by many members never contend.
    pub async fn vote(
        &self,
        caller: &AuthenticatedUser,
        comment_id: Uuid,
        direction: Option<VoteDirection>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let vote = comment_vote_id(comment_id, caller.user_id);
        let request = (
            "comment_vote",
            comment_id,
            direction.map(VoteDirection::as_str),
        );
        let scope = caller.user_id.to_string();
        self.core
            .idempotent(&scope, &request, meta, async move |msg_id| {
                let store = self.core.store();
                // The vote loads with the comment; the resource, which
                // only the comment names, after it.
                let (comment, loaded) = tokio::join!(
                    store.load::<Comment>(comment_id),
                    store.load::<CommentVote>(vote)
                );
                let (comment, loaded) = (comment?.state, loaded?);
                if comment.id.is_none() {
                    return Err(AppError::NotFound("comment"));
                }
                let resource = store.load::<Resource>(comment.resource_id).await?.state;
                let (actor, at) = (caller.actor.clone(), Utc::now());
                let command = match direction {
                    Some(direction) => CommentVoteCommand::Cast {
                        actor,
                        comment,
                        resource,
                        direction,
                        at,
                    },
                    None => CommentVoteCommand::Withdraw {
                        actor,
                        comment,
                        resource,
                        at,
                    },
                };
                let executed = self
                    .core
                    .execute_from::<CommentVote>(vote, &msg_id, meta, &command, Some(loaded))
                    .await?;
                Ok(CommandOutcome {
                    id: comment_id,
                    position: executed.position,
                })
            })
            .await
    }

    /// One comment, rendered by `render`, as its resource's thread shows
    /// it: a deleted or removed one keeps its place without its text, and
    /// the comments of a resource that one may not see are not found.
    ///
    /// Not kept in memory: whether it may be seen comes from the resources
    /// view, whose changes do not drop the comments' cache. Two
    /// primary-key lookups answer it.
    pub async fn comment_view(
        &self,
        comment_id: Uuid,
        min_position: Option<u64>,
        render: impl FnOnce(&CommentRow) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let not_found = || AppError::NotFound("comment");
        let source = self
            .core
            .read_from(&[Projection::Comments, Projection::Resources], min_position)
            .await?;
        let comment = source.reads.comment_by_id(comment_id).await?;
        let comment = comment.ok_or_else(not_found)?;
        let resource = source.reads.resource_by_id(comment.resource_id).await?;
        if !resource.is_some_and(|r| r.is_public()) {
            return Err(not_found());
        }
        let view =
            RenderedView::new(render(&comment), source.position).read_from_replica(source.replica);
        Ok((Arc::new(view), CacheOutcome::Miss))
    }

    /// A resource's comments in thread order (`order`).
    pub async fn thread_view(
        &self,
        resource_id: Uuid,
        order: ThreadOrder,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&Page<CommentRow>) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let paging = paging(page)?;
        let after = match &paging.cursor {
            None => String::new(),
            Some(Cursor::Path(path)) => order.key_in(path).ok_or_else(wrong_cursor)?.to_owned(),
            Some(_) => return Err(wrong_cursor()),
        };
        // Comments of what one may not see are not seen either.
        self.core.public_resource(resource_id, min_position).await?;
        let key = format!(
            "comments {resource_id} {order:?} {} {}",
            paging.limit,
            page.cursor.unwrap_or("")
        );
        self.core
            .cached(
                &self.core.views().comments,
                &[Projection::Comments],
                key,
                min_position,
                async move |reads| {
                    let (after, limit) = (after.as_str(), paging.fetch());
                    let items = match order {
                        ThreadOrder::Posted => {
                            reads
                                .comments_by_resource(resource_id, after, limit)
                                .await?
                        }
                        ThreadOrder::Top | ThreadOrder::New => {
                            let by_score = order == ThreadOrder::Top;
                            reads
                                .comments_by_resource_ranked(resource_id, by_score, after, limit)
                                .await?
                        }
                    };
                    let prefix = order.cursor_prefix();
                    let cursor = |last: &CommentRow| Cursor::Path(format!("{prefix}{}", last.path));
                    Ok(paging.rendered(items, cursor, render))
                },
            )
            .await
    }
}
