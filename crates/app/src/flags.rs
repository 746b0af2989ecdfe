//! Flags: members with enough karma flag resources and comments; enough
//! distinct flags hold a resource out of every list until a moderator
//! decides; moderators read the queue and keep what was flagged (hiding a
//! resource or removing a comment is [`crate::Moderation`]'s).

use chrono::Utc;
use resourcify_domain::ValidationErrors;
use resourcify_domain::comment::Comment;
use resourcify_domain::flag::{FlagCommand, FlagReason, FlagTarget, Flagged, Flags as FlagsOn};
use resourcify_domain::parse_reason;
use resourcify_domain::resource::Resource;
use resourcify_readmodel::FlagQueueEntry;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use crate::core::{CommandMeta, CommandOutcome, Core};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::paging::{Page, PageRequest, paging, wrong_cursor};

/// The views karma is summed from (as a profile reads it).
const KARMA_VIEWS: [Projection; 2] = [Projection::Resources, Projection::Comments];

/// The views the queue reads: its entries, and their resources' titles.
const QUEUE_VIEWS: [Projection; 2] = [Projection::Flags, Projection::Resources];

/// What a flag command is for, before the flagged thing is loaded.
enum Intent {
    Raise(FlagReason),
    Withdraw,
    Dismiss(String),
}

/// Flagging, and the moderators' queue of what was flagged.
#[derive(Debug, Clone)]
pub struct Flags {
    core: Core,
}

impl Flags {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Flags a resource or comment (`flag`: what, which, why), if the
    /// caller's karma as the views show it (at `karma_at`, if given)
    /// allows; the threshold in force goes with the command.
    pub async fn flag(
        &self,
        caller: &AuthenticatedUser,
        (target, id, reason): (FlagTarget, Uuid, FlagReason),
        karma_at: Option<u64>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let rules = self.core.settings().karma;
        let karma = self
            .core
            .read_from(&KARMA_VIEWS, karma_at)
            .await?
            .reads
            .account_by_id(caller.user_id)
            .await?
            .map_or(0, |account| account.karma);
        if !rules.can_flag(karma) {
            return Err(AppError::NotEnoughKarma {
                needed: rules.min_karma_to_flag,
                karma,
            });
        }
        self.on(caller, target, id, Intent::Raise(reason), meta)
            .await
    }

    /// Takes the caller's flag back; nothing happens if there is none.
    pub async fn withdraw(
        &self,
        caller: &AuthenticatedUser,
        target: FlagTarget,
        id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        self.on(caller, target, id, Intent::Withdraw, meta).await
    }

    /// Keeps a flagged resource or comment: its flags are dismissed, its
    /// hold ends, the reason goes to the moderation log. Moderators only.
    pub async fn keep(
        &self,
        caller: &AuthenticatedUser,
        target: FlagTarget,
        id: Uuid,
        reason: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        // Who may moderate is checked before the input, as moderation does.
        caller.actor.ensure_moderator()?;
        let reason = parse_reason(reason)
            .map_err(|message| AppError::Invalid(ValidationErrors::single("reason", message)))?;
        self.on(caller, target, id, Intent::Dismiss(reason), meta)
            .await
    }

    /// Loads the flagged thing and runs the command on its flags.
    async fn on(
        &self,
        caller: &AuthenticatedUser,
        target: FlagTarget,
        id: Uuid,
        intent: Intent,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let (kind, detail) = match &intent {
            Intent::Raise(reason) => ("flag", reason.as_str().to_owned()),
            Intent::Withdraw => ("unflag", String::new()),
            Intent::Dismiss(reason) => ("keep", reason.clone()),
        };
        let request = (kind, target.as_str(), id, detail);
        let scope = caller.user_id.to_string();
        self.core
            .idempotent(&scope, &request, meta, async move |msg_id| {
                let flagged = self.flagged(target, id).await?;
                let (actor, at) = (caller.actor.clone(), Utc::now());
                let command = match intent {
                    Intent::Raise(reason) => FlagCommand::Raise {
                        actor,
                        flagged,
                        reason,
                        threshold: self.core.settings().flag_threshold,
                        at,
                    },
                    Intent::Withdraw => FlagCommand::Withdraw { actor, flagged, at },
                    Intent::Dismiss(reason) => FlagCommand::Dismiss {
                        actor,
                        flagged,
                        reason,
                        at,
                    },
                };
                let executed = self
                    .core
                    .execute::<FlagsOn>(id, &msg_id, meta, &command)
                    .await?;
                Ok(CommandOutcome {
                    id,
                    position: executed.position,
                })
            })
            .await
    }

    /// The flagged resource's state, or the comment's with its resource's.
    async fn flagged(&self, target: FlagTarget, id: Uuid) -> Result<Flagged, AppError> {
        let store = self.core.store();
        Ok(match target {
            FlagTarget::Resource => Flagged::Resource(store.load::<Resource>(id).await?.state),
            FlagTarget::Comment => {
                let comment = store.load::<Comment>(id).await?.state;
                if comment.id.is_none() {
                    return Err(AppError::NotFound("comment"));
                }
                let resource = store.load::<Resource>(comment.resource_id).await?.state;
                Flagged::Comment { comment, resource }
            }
        })
    }

    /// The moderation queue: what members flagged, most flagged first,
    /// then oldest. Moderators only; read per request, never cached.
    pub async fn queue(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<Page<FlagQueueEntry>, AppError> {
        caller.actor.ensure_moderator()?;
        let paging = paging(page)?;
        // The keyset is (-flags, queued_at), ascending; a first page
        // starts below every key.
        let (after_flags, after_queued_at) = match paging.cursor {
            None => (i32::MIN, 0),
            Some(Cursor::Top { votes, listed_at }) => (-votes, listed_at),
            Some(_) => return Err(wrong_cursor()),
        };
        let reads = self.core.read_from(&QUEUE_VIEWS, min_position).await?.reads;
        let items = reads
            .flag_queue(after_flags, after_queued_at, paging.fetch())
            .await?;
        Ok(paging.page(items, |last| Cursor::Top {
            votes: last.flags,
            listed_at: last.queued_at,
        }))
    }
}
