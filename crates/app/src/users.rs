//! Commands on accounts: sign-up, profile, password, follows, roles,
//! suspension and deletion.

use chrono::Utc;
use resourcify_domain::resource::Tag;
use resourcify_domain::user::check_password;
use resourcify_domain::user::{ProfileChange, RegisterUser, Registration, User, UserCommand};
use resourcify_domain::{Actor, Role, ValidationErrors, parse_reason};
use resourcify_eventstore::{Reservation, Reserved};
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use crate::auth::AuthenticatedUser;
use crate::commands::created_id;
use crate::{App, AppError, CommandMeta, CommandOutcome};

/// A new account.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user_id: Uuid,
    pub username: String,
    pub position: u64,
}

impl App {
    /// Signs a new user up: both names are reserved before the event is
    /// written, and released again if it cannot be.
    #[tracing::instrument(skip_all, fields(username = registration.username))]
    pub async fn register(
        &self,
        registration: Registration<'_>,
        meta: &CommandMeta,
    ) -> Result<Registered, AppError> {
        let valid = registration.validate().map_err(AppError::Invalid)?;
        let username = valid.username.as_str().to_owned();
        let outcome = self
            .idempotent(
                "anonymous:register",
                &registration,
                meta,
                |msg_id| async move {
                    let user_id = created_id("user", meta.idempotency_key.as_deref());
                    self.reserve_names(user_id, &valid.username, &valid.email)
                        .await?;
                    let appended = async {
                        let password_hash =
                            self.inner.passwords.hash(registration.password).await?;
                        let command = UserCommand::Register(RegisterUser {
                            user_id,
                            username: valid.username.clone(),
                            email: valid.email.clone(),
                            password_hash,
                            at: Utc::now(),
                        });
                        self.execute::<User>(user_id, &msg_id, meta, &command).await
                    }
                    .await;
                    let position = match appended {
                        Ok(executed) => executed.position,
                        // A retry (same key, so same user id) after the first
                        // one's record was lost: the account is the answer.
                        Err(AppError::Conflict(_)) if meta.idempotency_key.is_some() => {
                            self.inner.store.load::<User>(user_id).await?.version
                        }
                        Err(error) => {
                            // Give the names back so the person can try again.
                            let book = &self.inner.reservations;
                            book.release(Reservation::Username, valid.username.as_str(), user_id)
                                .await?;
                            book.release(Reservation::Email, valid.email.as_str(), user_id)
                                .await?;
                            return Err(error);
                        }
                    };
                    Ok(CommandOutcome {
                        id: user_id,
                        position,
                    })
                },
            )
            .await?;
        Ok(Registered {
            user_id: outcome.id,
            username,
            position: outcome.position,
        })
    }

    async fn reserve_names(
        &self,
        user_id: Uuid,
        username: &resourcify_domain::user::Username,
        email: &resourcify_domain::user::Email,
    ) -> Result<(), AppError> {
        let book = &self.inner.reservations;
        let username = username.as_str();
        if let Reserved::TakenBy(_) = book
            .reserve(Reservation::Username, username, user_id)
            .await?
        {
            return Err(AppError::Conflict(format!(
                "username {username:?} is taken"
            )));
        }
        match book
            .reserve(Reservation::Email, email.as_str(), user_id)
            .await
        {
            Ok(Reserved::Held) => Ok(()),
            taken_or_failed => {
                book.release(Reservation::Username, username, user_id)
                    .await?;
                taken_or_failed?;
                Err(AppError::Conflict(
                    "an account with this e-mail address exists".into(),
                ))
            }
        }
    }

    /// Runs a command on the caller's own account.
    async fn on_own_account(
        &self,
        caller: &AuthenticatedUser,
        request: &(dyn std::fmt::Debug + Sync),
        meta: &CommandMeta,
        command: impl FnOnce(Actor) -> UserCommand,
    ) -> Result<CommandOutcome, AppError> {
        let user_id = caller.user_id;
        let command = command(caller.actor.clone());
        self.idempotent(&user_id.to_string(), request, meta, |msg_id| async move {
            let executed = self
                .execute::<User>(user_id, &msg_id, meta, &command)
                .await?;
            Ok(CommandOutcome {
                id: user_id,
                position: executed.position,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user = %caller.user_id))]
    pub async fn update_profile(
        &self,
        caller: &AuthenticatedUser,
        change: ProfileChange<'_>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let valid = change.validate().map_err(AppError::Invalid)?;
        self.on_own_account(caller, &("update_profile", &change), meta, |actor| {
            UserCommand::UpdateProfile {
                actor,
                change: valid,
                at: Utc::now(),
            }
        })
        .await
    }

    /// Changes the password after checking the current one; every session,
    /// this one included, ends.
    #[tracing::instrument(skip_all, fields(user = %caller.user_id))]
    pub async fn change_password(
        &self,
        caller: &AuthenticatedUser,
        current_password: &str,
        new_password: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        check_password(new_password).map_err(|message| {
            AppError::Invalid(ValidationErrors::single("new_password", message))
        })?;
        let account = self.inner.store.load::<User>(caller.user_id).await?.state;
        let hash = (!account.password_hash.is_empty()).then(|| account.password_hash.clone());
        if !self.inner.passwords.verify(current_password, hash).await {
            return Err(AppError::Invalid(ValidationErrors::single(
                "current_password",
                "does not match the account's password",
            )));
        }
        let password_hash = self.inner.passwords.hash(new_password).await?;
        // The fingerprint must not depend on the (salted) new hash.
        let request = ("change_password", current_password, new_password);
        let outcome = self
            .on_own_account(caller, &request, meta, |actor| {
                UserCommand::ChangePassword {
                    actor,
                    password_hash,
                    at: Utc::now(),
                }
            })
            .await?;
        self.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    pub async fn follow_tag(
        &self,
        caller: &AuthenticatedUser,
        tag: &str,
        follow: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let tag = Tag::parse(tag)
            .map_err(|message| AppError::Invalid(ValidationErrors::single("tag", message)))?;
        let request = ("follow_tag", tag.as_str().to_owned(), follow);
        self.on_own_account(caller, &request, meta, |actor| {
            let at = Utc::now();
            if follow {
                UserCommand::FollowTag { actor, tag, at }
            } else {
                UserCommand::UnfollowTag { actor, tag, at }
            }
        })
        .await
    }

    pub async fn follow_user(
        &self,
        caller: &AuthenticatedUser,
        username: &str,
        follow: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let followee_id = self.user_id_by_username(username).await?;
        let request = ("follow_user", followee_id, follow);
        self.on_own_account(caller, &request, meta, |actor| {
            let at = Utc::now();
            if follow {
                UserCommand::FollowUser {
                    actor,
                    followee_id,
                    at,
                }
            } else {
                UserCommand::UnfollowUser {
                    actor,
                    followee_id,
                    at,
                }
            }
        })
        .await
    }

    /// Deletes the caller's account. The e-mail address is freed; the
    /// username stays reserved so that no one can take over the name that
    /// the account's resources were shown under.
    pub async fn delete_account(
        &self,
        caller: &AuthenticatedUser,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let account = self.inner.store.load::<User>(caller.user_id).await?.state;
        let outcome = self
            .on_own_account(caller, &"delete_account", meta, |actor| {
                UserCommand::Delete {
                    actor,
                    at: Utc::now(),
                }
            })
            .await?;
        self.inner
            .reservations
            .release(Reservation::Email, &account.email, caller.user_id)
            .await?;
        self.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// Ends every session of the caller's, this one included.
    pub async fn log_out_everywhere(
        &self,
        caller: &AuthenticatedUser,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let outcome = self
            .on_own_account(caller, &"log_out_everywhere", meta, |actor| {
                UserCommand::RevokeSessions {
                    actor,
                    at: Utc::now(),
                }
            })
            .await?;
        self.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
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
        let target = self.user_id_by_username(username).await?;
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
        let reason = suspended_for
            .map(parse_reason)
            .transpose()
            .map_err(|message| AppError::Invalid(ValidationErrors::single("reason", message)))?;
        let target = self.user_id_by_username(username).await?;
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
            .idempotent(
                &actor.user_id.to_string(),
                request,
                meta,
                |msg_id| async move {
                    let executed = self
                        .execute::<User>(target, &msg_id, meta, &command)
                        .await?;
                    Ok(CommandOutcome {
                        id: target,
                        position: executed.position,
                    })
                },
            )
            .await?;
        self.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// The id of a (not deleted) user, by username.
    pub async fn user_id(&self, username: &str) -> Result<Uuid, AppError> {
        self.user_id_by_username(username).await
    }

    /// The id of a (not deleted) user, by username.
    pub(crate) async fn user_id_by_username(&self, username: &str) -> Result<Uuid, AppError> {
        let normalised = username.trim().to_lowercase();
        self.inner
            .reads
            .user_id_by_username(&normalised)
            .await?
            .ok_or(AppError::NotFound("user"))
    }
}
