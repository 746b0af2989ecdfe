//! Resources: submitting, editing and retracting them, the per-member
//! relations hanging off them (votes and bookmarks), and reading them
//! (`reads.rs`). Hiding and restoring is moderation's.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use resourcify_domain::bookmark::{Bookmark, BookmarkCommand, bookmark_id};
use resourcify_domain::resource::{
    Resource, ResourceCommand, ResourceEdit, Submission, SubmitResource,
};
use resourcify_domain::vote::{Vote, VoteCommand, vote_id};
use resourcify_domain::{Actor, Aggregate};
use resourcify_eventstore::{Reservation, Reserved};
use uuid::Uuid;

mod history;
mod reads;

pub use history::{HistoryEntry, HistoryOrder};
pub use reads::{ResourceQuery, Sort};

use crate::core::{CommandMeta, CommandOutcome};
use crate::core::{Core, created_id, unwritten};
use crate::credentials::AuthenticatedUser;
use crate::error::AppError;

/// Everything done to and read of resources.
#[derive(Debug, Clone)]
pub struct Resources {
    core: Core,
}

impl Resources {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Submits a resource. Its canonical URL is claimed before the event is
    /// written, so a duplicate is refused however far behind the views are.
    #[tracing::instrument(skip_all, fields(author = %author.user_id))]
    pub async fn submit(
        &self,
        author: &AuthenticatedUser,
        submission: Submission<'_>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let valid = submission.validate().map_err(AppError::Invalid)?;
        author.actor.ensure_active()?;
        // Keys are the client's: two users' equal keys name different resources.
        let scope = author.user_id.to_string();
        let request = ("submit_resource", &submission);
        let id_scope = format!("resource:{scope}");
        self.core
            .idempotent(&scope, &request, meta, async move |msg_id| {
                let id = created_id(&id_scope, meta.idempotency_key.as_deref());
                let canonical_url = valid.url.canonical();
                let book = self.core.reservations();
                let reserve = book.reserve(Reservation::ResourceUrl, &canonical_url, id);
                // A new id has no events to load; one derived from a key may
                // (a retry), and is loaded while the URL is claimed.
                let (reserved, loaded) = match meta.idempotency_key {
                    None => (reserve.await?, Ok(unwritten::<Resource>())),
                    Some(_) => {
                        let load = self.core.store().load::<Resource>(id);
                        let (reserved, loaded) = tokio::join!(reserve, load);
                        (reserved?, loaded)
                    }
                };
                if let Reserved::TakenBy(existing) = reserved {
                    return Err(AppError::DuplicateResource { existing });
                }
                let command = ResourceCommand::Submit(SubmitResource {
                    resource_id: id,
                    actor: author.actor.clone(),
                    submission: valid,
                    at: Utc::now(),
                });
                let executed = match loaded {
                    Ok(loaded) => {
                        self.core
                            .execute_from::<Resource>(id, &msg_id, meta, &command, Some(loaded))
                            .await
                    }
                    Err(error) => Err(error.into()),
                };
                match executed {
                    Ok(executed) => Ok(CommandOutcome {
                        id,
                        position: executed.position,
                    }),
                    // A retry after JetStream forgot the message id: the resource
                    // it created is the answer.
                    Err(AppError::Conflict(_)) if meta.idempotency_key.is_some() => {
                        let loaded = self.core.store().load::<Resource>(id).await?;
                        Ok(CommandOutcome {
                            id,
                            position: loaded.version,
                        })
                    }
                    Err(error) => {
                        // Free the URL so the submission can be tried again.
                        book.release(Reservation::ResourceUrl, &canonical_url, id)
                            .await?;
                        Err(error)
                    }
                }
            })
            .await
    }

    /// Changes a resource's title, description, tags or kind; author only.
    pub async fn edit(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        edit: ResourceEdit<'_>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let valid = edit.validate().map_err(AppError::Invalid)?;
        let command = ResourceCommand::Edit {
            actor: caller.actor.clone(),
            edit: valid,
            at: Utc::now(),
        };
        let request = ("edit_resource", id, &edit);
        self.core
            .command_on::<Resource>(caller.user_id, id, &request, meta, command)
            .await
    }

    /// Withdraws a resource for good; author only. Its URL may be submitted
    /// again afterwards.
    pub async fn retract(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let command = ResourceCommand::Retract {
            actor: caller.actor.clone(),
            at: Utc::now(),
        };
        let request = ("retract_resource", id);
        let outcome = self
            .core
            .command_on::<Resource>(caller.user_id, id, &request, meta, command)
            .await?;
        let resource = self.core.store().load::<Resource>(id).await?.state;
        if resource.retracted {
            self.core
                .reservations()
                .release(Reservation::ResourceUrl, &resource.canonical_url, id)
                .await?;
        }
        Ok(outcome)
    }

    /// Upvotes a resource (`up`) or withdraws the upvote. Each member's vote
    /// is its own aggregate, so votes by many members never contend.
    pub async fn vote(
        &self,
        caller: &AuthenticatedUser,
        resource_id: Uuid,
        up: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let vote = vote_id(resource_id, caller.user_id);
        let request = ("vote", resource_id, up);
        self.on_own_mark::<Vote>(
            caller,
            resource_id,
            vote,
            &request,
            meta,
            async |actor, at| {
                let resource = self.core.store().load::<Resource>(resource_id).await?.state;
                Ok(if up {
                    VoteCommand::Cast {
                        actor,
                        resource,
                        at,
                    }
                } else {
                    VoteCommand::Withdraw {
                        actor,
                        resource,
                        at,
                    }
                })
            },
        )
        .await
    }

    /// Bookmarks a resource (`add`) or drops the bookmark; private to the caller.
    pub async fn bookmark(
        &self,
        caller: &AuthenticatedUser,
        resource_id: Uuid,
        add: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let bookmark = bookmark_id(caller.user_id, resource_id);
        let request = ("bookmark", resource_id, add);
        self.on_own_mark::<Bookmark>(
            caller,
            resource_id,
            bookmark,
            &request,
            meta,
            async |actor, at| {
                Ok(if add {
                    let resource = self.core.store().load::<Resource>(resource_id).await?.state;
                    BookmarkCommand::Add {
                        actor,
                        resource,
                        at,
                    }
                } else {
                    BookmarkCommand::Remove {
                        actor,
                        resource_id,
                        at,
                    }
                })
            },
        )
        .await
    }

    /// Runs the command `command` makes on the caller's own mark `A` (a
    /// vote or a bookmark, the aggregate `mark`) on a resource, at most once
    /// per `Idempotency-Key`; answers the resource's id. The command is made
    /// inside, so that a repeated request loads nothing.
    async fn on_own_mark<A: Aggregate>(
        &self,
        caller: &AuthenticatedUser,
        resource_id: Uuid,
        mark: Uuid,
        request: &(dyn Debug + Sync),
        meta: &CommandMeta,
        command: impl AsyncFnOnce(Actor, DateTime<Utc>) -> Result<A::Command, AppError>,
    ) -> Result<CommandOutcome, AppError> {
        let scope = caller.user_id.to_string();
        self.core
            .idempotent(&scope, request, meta, async move |msg_id| {
                // The mark loads while the command is made (which loads the
                // resource): the two reads overlap.
                let (command, loaded) = tokio::join!(
                    command(caller.actor.clone(), Utc::now()),
                    self.core.store().load::<A>(mark),
                );
                let (command, loaded) = (command?, loaded?);
                let executed = self
                    .core
                    .execute_from::<A>(mark, &msg_id, meta, &command, Some(loaded))
                    .await?;
                Ok(CommandOutcome {
                    id: resource_id,
                    position: executed.position,
                })
            })
            .await
    }
}
