//! Moderation: staff hide and restore resources, remove comments, grant
//! and revoke roles, suspend and reinstate members; every action with a
//! reason goes to the public moderation log, which anyone may read.

use chrono::Utc;
use resourcify_domain::comment::{Comment, CommentCommand};
use resourcify_domain::resource::{Resource, ResourceCommand};
use resourcify_domain::user::{User, UserCommand};
use resourcify_domain::{Actor, Role, ValidationErrors, parse_reason};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ModerationEntry, ReadModel};
use uuid::Uuid;

use crate::core::Core;
use crate::core::{CommandMeta, CommandOutcome};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::paging::newest_first;
use crate::paging::{Page, PageRequest};

fn checked_reason(raw: &str) -> Result<String, AppError> {
    parse_reason(raw)
        .map_err(|message| AppError::Invalid(ValidationErrors::single("reason", message)))
}

/// What moderators and administrators do, and the log of it.
#[derive(Debug, Clone)]
pub struct Moderation {
    core: Core,
}

impl Moderation {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Hides a resource from everyone, or restores it; moderators only. The
    /// reason goes to the public moderation log.
    pub async fn hide_or_restore(
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
        let reason = checked_reason(reason)?;
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
        self.core
            .command_on::<Resource>(caller.user_id, id, &request, meta, command)
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
        let reason = checked_reason(reason)?;
        let request = ("remove_comment", id, &reason);
        let command = CommentCommand::Remove {
            actor: caller.actor.clone(),
            reason: reason.clone(),
            at: Utc::now(),
        };
        self.core
            .command_on::<Comment>(caller.user_id, id, &request, meta, command)
            .await
    }

    /// Grants or revokes a staff role; administrators only (or the operator).
    pub async fn set_role(
        &self,
        actor: &Actor,
        username: &str,
        role: &str,
        granted: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let role: Role = role
            .parse()
            .map_err(|message| AppError::Invalid(ValidationErrors::single("role", message)))?;
        let target = self.core.user_id_by_username(username).await?;
        let at = Utc::now();
        let command = if granted {
            UserCommand::GrantRole {
                actor: actor.clone(),
                role,
                at,
            }
        } else {
            UserCommand::RevokeRole {
                actor: actor.clone(),
                role,
                at,
            }
        };
        let request = ("set_role", target, role, granted);
        self.on_user(actor, target, &request, meta, command).await
    }

    /// Suspends (with a reason) or reinstates a user; moderators only.
    pub async fn set_suspension(
        &self,
        actor: &Actor,
        username: &str,
        suspended_for: Option<&str>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let reason = suspended_for.map(checked_reason).transpose()?;
        let target = self.core.user_id_by_username(username).await?;
        let at = Utc::now();
        let command = match reason.clone() {
            Some(reason) => UserCommand::Suspend {
                actor: actor.clone(),
                reason,
                at,
            },
            None => UserCommand::Reinstate {
                actor: actor.clone(),
                at,
            },
        };
        let request = ("set_suspension", target, reason);
        self.on_user(actor, target, &request, meta, command).await
    }

    /// Runs a staff command on another user's account and waits for the
    /// users view, so the change holds on the target's next request.
    async fn on_user(
        &self,
        actor: &Actor,
        target: Uuid,
        request: &(dyn std::fmt::Debug + Sync),
        meta: &CommandMeta,
        command: UserCommand,
    ) -> Result<CommandOutcome, AppError> {
        let outcome = self
            .core
            .command_on::<User>(actor.user_id, target, request, meta, command)
            .await?;
        self.core.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// The public moderation log, newest first.
    pub async fn log(
        &self,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<Page<ModerationEntry>, AppError> {
        let log =
            async |reads: ReadModel, before, fetch| Ok(reads.moderation_log(before, fetch).await?);
        let key = |last: &ModerationEntry| Cursor::Before(last.position);
        newest_first(
            &self.core,
            page,
            &[Projection::Resources],
            min_position,
            log,
            key,
        )
        .await
    }
}
