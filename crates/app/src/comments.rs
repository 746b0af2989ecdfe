//! Commands on comments: post (top-level or a reply), edit and delete one's
//! own, remove (moderators).

use chrono::Utc;
use resourcify_domain::comment::{Comment, CommentBody, CommentCommand};
use resourcify_domain::resource::Resource;
use resourcify_domain::{ValidationErrors, parse_reason};
use uuid::Uuid;

use crate::auth::AuthenticatedUser;
use crate::commands::created_id;
use crate::{App, AppError, CommandMeta, CommandOutcome};

fn body(raw: &str) -> Result<CommentBody, AppError> {
    CommentBody::parse(raw)
        .map_err(|message| AppError::Invalid(ValidationErrors::single("body", message)))
}

impl App {
    /// Comments on a resource, or replies to `parent_id` on the same resource.
    pub async fn post_comment(
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
        self.idempotent(&scope, &request, meta, |msg_id| async move {
            let store = &self.inner.store;
            let resource = store.load::<Resource>(resource_id).await?.state;
            let parent = match parent_id {
                Some(parent_id) => Some(store.load::<Comment>(parent_id).await?.state),
                None => None,
            };
            let comment_id = created_id(&id_scope, meta.idempotency_key.as_deref());
            let command = CommentCommand::Post {
                comment_id,
                actor: caller.actor.clone(),
                resource,
                parent,
                body,
                at: Utc::now(),
            };
            let executed = self
                .execute::<Comment>(comment_id, &msg_id, meta, &command)
                .await?;
            Ok(CommandOutcome {
                id: comment_id,
                position: executed.position,
            })
        })
        .await
    }

    async fn on_comment(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        request: &(dyn std::fmt::Debug + Sync),
        meta: &CommandMeta,
        command: CommentCommand,
    ) -> Result<CommandOutcome, AppError> {
        self.idempotent(
            &caller.user_id.to_string(),
            request,
            meta,
            |msg_id| async move {
                let executed = self.execute::<Comment>(id, &msg_id, meta, &command).await?;
                Ok(CommandOutcome {
                    id,
                    position: executed.position,
                })
            },
        )
        .await
    }

    /// Changes one's own comment.
    pub async fn edit_comment(
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
        self.on_comment(caller, id, &request, meta, command).await
    }

    /// Takes one's own comment down.
    pub async fn delete_comment(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let command = CommentCommand::Delete {
            actor: caller.actor.clone(),
            at: Utc::now(),
        };
        self.on_comment(caller, id, &("delete_comment", id), meta, command)
            .await
    }

    /// Takes someone's comment down, with a public reason; moderators only.
    pub async fn remove_comment(
        &self,
        caller: &AuthenticatedUser,
        id: Uuid,
        reason: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        caller.actor.ensure_moderator()?;
        let reason = parse_reason(reason)
            .map_err(|message| AppError::Invalid(ValidationErrors::single("reason", message)))?;
        let request = ("remove_comment", id, &reason);
        let command = CommentCommand::Remove {
            actor: caller.actor.clone(),
            reason: reason.clone(),
            at: Utc::now(),
        };
        self.on_comment(caller, id, &request, meta, command).await
    }
}
