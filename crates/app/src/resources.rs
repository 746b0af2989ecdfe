//! Commands on resources: submit, edit, retract, hide and restore, and the
//! per-member relations hanging off them, votes and bookmarks.

use chrono::Utc;
use resourcify_domain::bookmark::{Bookmark, BookmarkCommand, bookmark_id};
use resourcify_domain::resource::{
    Resource, ResourceCommand, ResourceEdit, Submission, SubmitResource,
};
use resourcify_domain::vote::{Vote, VoteCommand, vote_id};
use resourcify_domain::{ValidationErrors, parse_reason};
use resourcify_eventstore::{Reservation, Reserved};
use uuid::Uuid;

use crate::auth::AuthenticatedUser;
use crate::commands::created_id;
use crate::{App, AppError, CommandMeta, CommandOutcome};

impl App {
    /// Submits a resource. Its canonical URL is claimed before the event is
    /// written, so a duplicate is refused however far behind the views are.
    #[tracing::instrument(skip_all, fields(author = %author.user_id))]
    pub async fn submit_resource(
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
        self.idempotent(&scope, &request, meta, |msg_id| async move {
            let id = created_id(&id_scope, meta.idempotency_key.as_deref());
            let canonical_url = valid.url.canonical();
            let book = &self.inner.reservations;
            if let Reserved::TakenBy(existing) = book
                .reserve(Reservation::ResourceUrl, &canonical_url, id)
                .await?
            {
                return Err(AppError::DuplicateResource { existing });
            }
            let command = ResourceCommand::Submit(SubmitResource {
                resource_id: id,
                actor: author.actor.clone(),
                submission: valid,
                at: Utc::now(),
            });
            match self.execute::<Resource>(id, &msg_id, meta, &command).await {
                Ok(executed) => Ok(CommandOutcome {
                    id,
                    position: executed.position,
                }),
                // A retry after JetStream forgot the message id: the resource
                // it created is the answer.
                Err(AppError::Conflict(_)) if meta.idempotency_key.is_some() => {
                    let loaded = self.inner.store.load::<Resource>(id).await?;
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

    /// Runs a command on one resource, idempotently per caller.
    async fn on_resource(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        request: &(dyn std::fmt::Debug + Sync),
        meta: &CommandMeta,
        command: ResourceCommand,
    ) -> Result<CommandOutcome, AppError> {
        self.idempotent(
            &caller.user_id.to_string(),
            request,
            meta,
            |msg_id| async move {
                let executed = self
                    .execute::<Resource>(id, &msg_id, meta, &command)
                    .await?;
                Ok(CommandOutcome {
                    id,
                    position: executed.position,
                })
            },
        )
        .await
    }

    /// Changes a resource's title, description, tags or kind; author only.
    pub async fn edit_resource(
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
        self.on_resource(caller, id, &request, meta, command).await
    }

    /// Withdraws a resource for good; author only. Its URL may be submitted
    /// again afterwards.
    pub async fn retract_resource(
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
            .on_resource(caller, id, &request, meta, command)
            .await?;
        let resource = self.inner.store.load::<Resource>(id).await?.state;
        if resource.retracted {
            self.inner
                .reservations
                .release(Reservation::ResourceUrl, &resource.canonical_url, id)
                .await?;
        }
        Ok(outcome)
    }

    /// Hides a resource from everyone, or restores it; moderators only. The
    /// reason goes to the public moderation log.
    pub async fn moderate_resource(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        hide: bool,
        reason: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        // Who may moderate is checked before the input, so a member learns
        // nothing from a validation error.
        caller.actor.ensure_moderator()?;
        let reason = parse_reason(reason)
            .map_err(|message| AppError::Invalid(ValidationErrors::single("reason", message)))?;
        let (actor, at) = (caller.actor.clone(), Utc::now());
        let command = if hide {
            ResourceCommand::Hide {
                actor,
                reason: reason.clone(),
                at,
            }
        } else {
            ResourceCommand::Restore {
                actor,
                reason: reason.clone(),
                at,
            }
        };
        let request = ("moderate_resource", id, hide, reason);
        self.on_resource(caller, id, &request, meta, command).await
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
        let request = ("vote", resource_id, up);
        self.idempotent(
            &caller.user_id.to_string(),
            &request,
            meta,
            |msg_id| async move {
                let resource = self.inner.store.load::<Resource>(resource_id).await?.state;
                let (actor, at) = (caller.actor.clone(), Utc::now());
                let command = if up {
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
                };
                let id = vote_id(resource_id, caller.user_id);
                let executed = self.execute::<Vote>(id, &msg_id, meta, &command).await?;
                Ok(CommandOutcome {
                    id: resource_id,
                    position: executed.position,
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
        let request = ("bookmark", resource_id, add);
        self.idempotent(
            &caller.user_id.to_string(),
            &request,
            meta,
            |msg_id| async move {
                let (actor, at) = (caller.actor.clone(), Utc::now());
                let command = if add {
                    let resource = self.inner.store.load::<Resource>(resource_id).await?.state;
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
                };
                let id = bookmark_id(caller.user_id, resource_id);
                let executed = self
                    .execute::<Bookmark>(id, &msg_id, meta, &command)
                    .await?;
                Ok(CommandOutcome {
                    id: resource_id,
                    position: executed.position,
                })
            },
        )
        .await
    }
}
