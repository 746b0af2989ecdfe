//! Accounts: sign-up, one's profile and password, deleting one's account,
//! and reading profiles and one's own account.

use chrono::Utc;
use resourcify_domain::user::check_password;
use resourcify_domain::user::{ProfileChange, RegisterUser, Registration, User, UserCommand};
use resourcify_domain::{Secret, ValidationErrors};
use resourcify_eventstore::{Reservation, Reserved};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{AccountRow, FollowedUser, ProfileRow};
use uuid::Uuid;

use crate::core::{CommandMeta, CommandOutcome};
use crate::core::{Core, created_id};
use crate::credentials::{AuthenticatedUser, Passwords};
use crate::error::AppError;

/// A new account.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user_id: Uuid,
    pub username: String,
    pub position: u64,
}

/// One's own account as the views show it.
#[derive(Debug, Clone)]
pub struct Account {
    pub account: AccountRow,
    pub followed_tags: Vec<String>,
    pub followed_users: Vec<FollowedUser>,
    pub hidden_tags: Vec<String>,
}

/// The views a profile reads: the account's, and the karma each of the
/// resources and comments projections keeps. A read at a position waits
/// for all three, so that a vote's answer shows in its author's karma.
const KARMA_VIEWS: [Projection; 3] = [
    Projection::Users,
    Projection::Resources,
    Projection::Comments,
];

/// Members' accounts.
#[derive(Debug, Clone)]
pub struct Accounts {
    core: Core,
    passwords: Passwords,
}

impl Accounts {
    pub(crate) fn new(core: Core) -> Self {
        Self {
            core,
            passwords: Passwords,
        }
    }

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
            .core
            .idempotent_with_secrets(
                "anonymous:register",
                &registration,
                &[registration.password],
                meta,
                async move |msg_id| {
                    let user_id = created_id("user", meta.idempotency_key.as_deref());
                    self.reserve_names(user_id, &valid.username, &valid.email)
                        .await?;
                    let appended = async {
                        let password_hash = self.passwords.hash(registration.password).await?;
                        let command = UserCommand::Register(RegisterUser {
                            user_id,
                            username: valid.username.clone(),
                            email: valid.email.clone(),
                            password_hash,
                            at: Utc::now(),
                        });
                        self.core
                            .execute::<User>(user_id, &msg_id, meta, &command)
                            .await
                    }
                    .await;
                    let position = match appended {
                        Ok(executed) => executed.position,
                        // A retry (same key, so same user id) after the first
                        // one's record was lost: the account is the answer.
                        Err(AppError::Conflict(_)) if meta.idempotency_key.is_some() => {
                            self.core.store().load::<User>(user_id).await?.version
                        }
                        Err(error) => {
                            // Give the names back so the person can try again.
                            let book = self.core.reservations();
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
        let book = self.core.reservations();
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

    #[tracing::instrument(skip_all, fields(user = %caller.user_id))]
    pub async fn update_profile(
        &self,
        caller: &AuthenticatedUser,
        change: ProfileChange<'_>,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let valid = change.validate().map_err(AppError::Invalid)?;
        self.core
            .on_own_account(caller, &("update_profile", &change), meta, |actor| {
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
        current_password: &Secret,
        new_password: &Secret,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        check_password(new_password.expose()).map_err(|message| {
            AppError::Invalid(ValidationErrors::single("new_password", message))
        })?;
        let account = self.core.store().load::<User>(caller.user_id).await?.state;
        let hash = (!account.password_hash.is_empty()).then(|| account.password_hash.clone());
        if !self.passwords.verify(current_password, hash).await {
            return Err(AppError::Invalid(ValidationErrors::single(
                "current_password",
                "does not match the account's password",
            )));
        }
        let password_hash = self.passwords.hash(new_password).await?;
        // The fingerprint must not depend on the (salted) new hash, and
        // holds the passwords only keyed.
        let secrets = [current_password, new_password];
        let user_id = caller.user_id;
        let command = UserCommand::ChangePassword {
            actor: caller.actor.clone(),
            password_hash,
            at: Utc::now(),
        };
        let outcome = self
            .core
            .idempotent_with_secrets(
                &user_id.to_string(),
                &"change_password",
                &secrets,
                meta,
                async move |msg_id| {
                    let executed = self
                        .core
                        .execute::<User>(user_id, &msg_id, meta, &command)
                        .await?;
                    Ok(CommandOutcome {
                        id: user_id,
                        position: executed.position,
                    })
                },
            )
            .await?;
        self.core.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// Deletes the caller's account, then erases them ([`Self::erase`]).
    /// Their resources stay, shown as a deleted member's.
    pub async fn delete_account(
        &self,
        caller: &AuthenticatedUser,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let outcome = self
            .core
            .on_own_account(caller, &"delete_account", meta, |actor| {
                UserCommand::Delete {
                    actor,
                    at: Utc::now(),
                }
            })
            .await?;
        self.erase(caller.user_id).await?;
        self.core.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// Erases a deleted member: frees their username and e-mail address,
    /// destroys their key (every personal field of theirs in the log, sealed,
    /// reads as erased from now on) and erases from the stream what was
    /// written in clear before sealing. Safe to repeat: the operator's
    /// `resourcify admin erase` finishes an erasure that a failure cut short.
    /// Returns how many events written in clear were erased.
    pub async fn erase(&self, user_id: Uuid) -> Result<usize, AppError> {
        let store = self.core.store();
        let account = store.load::<User>(user_id).await?.state;
        if !account.deleted {
            return Err(AppError::Conflict(
                "only a deleted account can be erased".into(),
            ));
        }
        // Names first: once the key is gone they can no longer be read.
        let book = self.core.reservations();
        book.release(Reservation::Email, &account.email, user_id)
            .await?;
        book.release(Reservation::Username, &account.username, user_id)
            .await?;
        let erased = store.erase_member(user_id).await?;
        tracing::info!(%user_id, events_erased = erased, "member erased");
        Ok(erased)
    }

    /// The id of a (not deleted) user, by username.
    pub async fn user_id(&self, username: &str) -> Result<Uuid, AppError> {
        self.core.user_id_by_username(username).await
    }

    /// A user's public profile.
    pub async fn profile(
        &self,
        username: &str,
        min_position: Option<u64>,
    ) -> Result<ProfileRow, AppError> {
        self.core
            .read_from(&KARMA_VIEWS, min_position)
            .await?
            .reads
            .profile_by_username(&username.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound("user"))
    }

    /// The caller's own account.
    pub async fn account(
        &self,
        caller: &AuthenticatedUser,
        min_position: Option<u64>,
    ) -> Result<Account, AppError> {
        let reads = self.core.read_from(&KARMA_VIEWS, min_position).await?.reads;
        let account = reads
            .account_by_id(caller.user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(Account {
            account,
            followed_tags: reads.followed_tags(caller.user_id).await?,
            hidden_tags: reads.hidden_tags(caller.user_id).await?,
            followed_users: reads.followed_users(caller.user_id).await?,
        })
    }
}
