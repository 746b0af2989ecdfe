//! Sessions: log in, refresh, log out; one's open sessions, and ending
//! one of them; and the access check every authenticated request makes
//! against the users view.

use chrono::{DateTime, Utc};
use resourcify_domain::session::{Session, SessionCommand, SessionEvent, UserAgent};
use resourcify_domain::user::UserCommand;
use resourcify_domain::{Actor, Role, Secret};
use resourcify_readmodel::ReadModelError;
use resourcify_readmodel::SessionRow;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use crate::access::AccessCache;
use crate::core::{CommandMeta, CommandOutcome};
use crate::core::{Core, created_id};
use crate::credentials::{AccessToken, AuthenticatedUser, Passwords, RefreshClaims, Tokens};
use crate::error::AppError;

/// The tokens of a session, as a login or refresh answers them.
#[derive(Clone, Debug)]
pub struct SessionTokens {
    pub session_id: Uuid,
    pub access: AccessToken,
    pub refresh_token: Secret,
    pub refresh_expires_at: DateTime<Utc>,
    pub position: u64,
}

/// The account a login is counted against when it fails: the account it
/// names, whether by username or by e-mail, so that both spend one budget.
/// A login that names no account is counted under its own normalised text,
/// so guesses at unknown names are limited, and answered, as known ones are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginAccount {
    Known(Uuid),
    Unknown(String),
}

/// Counts failed logins per account, so that passwords cannot be guessed at
/// speed; the API's rate limits keep the count, per client address too.
///
/// A login takes room for one failure before it checks the password, so
/// that guesses sent at once cannot overshoot the budget, and gives it back
/// when the password was right: only failures count.
pub trait LoginFailures {
    /// Room for one more failure of `account`'s, or
    /// [`AppError::TooManyFailedLogins`].
    fn take(&self, account: &LoginAccount) -> Result<(), AppError>;
    /// Gives back what [`Self::take`] took: the login succeeded.
    fn give_back(&self, account: &LoginAccount);
}

/// The most open sessions one list shows, newest first. Each needs a
/// login, which has a budget of its own per account, and ends within
/// the session lifetime unless refreshed, so a member reaches it only on
/// purpose.
pub const OPEN_SESSIONS_LIMIT: i64 = 1_000;

/// Sessions and the tokens that stand for them.
#[derive(Debug, Clone)]
pub struct Sessions {
    core: Core,
    tokens: Tokens,
    passwords: Passwords,
    access: AccessCache,
}

impl Sessions {
    pub(crate) fn new(core: Core, tokens: Tokens) -> Self {
        let access = AccessCache::new(core.settings().token_ttl);
        Self {
            core,
            tokens,
            passwords: Passwords,
            access,
        }
    }

    /// Keeps this node's sessions current from the log until the task is
    /// dropped; run it once per API node.
    pub async fn follow_the_log(self) {
        self.access.follow(self.core.store().clone()).await;
    }

    /// Issues and checks the tokens (the rate limiter reads a token's user
    /// without a round trip to the views).
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Checks a bearer token: its signature and expiry, then that its session
    /// has not ended (logout, password change, account deletion) and what
    /// standing its user has now. Every authenticated request comes here, so
    /// an ended session is refused on its next request to any node.
    ///
    /// While Postgres does not answer, the session as this node last read
    /// it, kept current from the log since (`access::AccessCache`), stands in:
    /// a member who was active here keeps writing (writes need only NATS),
    /// and a logout or a suspension still holds within moments.
    pub async fn authenticate(&self, token: &str) -> Result<AuthenticatedUser, AppError> {
        let claims = self.tokens.verify(token)?;
        let generation = self.access.generation();
        let read = match self.access.while_the_view_is_away(claims.session_id) {
            Some(known) => Ok(Some(known)),
            None => {
                let reads = self.core.read_from(&[Projection::Users], None).await?.reads;
                let read = reads.access_by_session(claims.session_id);
                let read = tokio::time::timeout(crate::READ_WITHIN, read)
                    .await
                    .unwrap_or(Err(ReadModelError::TimedOut {
                        query: "access_by_session",
                    }));
                self.access.view_answered(read.is_ok());
                read
            }
        };
        let access = match read {
            Ok(read) => {
                match read.as_ref().filter(|access| !access.ended) {
                    Some(access) => {
                        self.access
                            .insert(claims.session_id, access.clone(), generation)
                    }
                    None => self.access.forget(claims.session_id),
                }
                read
            }
            Err(error) => match self.access.get(claims.session_id) {
                Some(access) => Some(access),
                None => return Err(error.into()),
            },
        };
        let access = access
            .filter(|access| !access.ended && access.user_id == claims.user_id)
            .ok_or(AppError::Unauthorized(
                "the session has ended; log in again",
            ))?;
        let roles = access
            .roles
            .iter()
            .filter_map(|role| role.parse::<Role>().ok())
            .collect();
        Ok(AuthenticatedUser {
            user_id: access.user_id,
            username: access.username,
            session_id: claims.session_id,
            actor: Actor {
                user_id: access.user_id,
                roles,
                suspended: access.suspended,
            },
        })
    }

    /// Checks a login (username or e-mail) and password against the users
    /// view and starts a session. Answers once the session is in the view,
    /// so its access token works on the next request. `failures` counts
    /// the wrong passwords the account has been given (see
    /// [`LoginFailures`]); when it refuses, no password is checked.
    #[tracing::instrument(level = "debug", skip(self, password, user_agent, failures, meta))]
    pub async fn login(
        &self,
        login: &str,
        password: &Secret,
        user_agent: &UserAgent,
        failures: &(dyn LoginFailures + Sync),
        min_position: Option<u64>,
        meta: &CommandMeta,
    ) -> Result<SessionTokens, AppError> {
        let reads = self
            .core
            .read_from(&[Projection::Users], min_position)
            .await?
            .reads;
        let normalised = login.trim().to_lowercase();
        let credentials = reads.credentials_by_login(&normalised).await?;
        let (hash, user) = match credentials {
            Some(c) => (Some(c.password_hash), Some((c.user_id, c.username))),
            None => (None, None),
        };
        let account = match &user {
            Some((user_id, _)) => LoginAccount::Known(*user_id),
            None => LoginAccount::Unknown(normalised),
        };
        // Refused alike for known and unknown logins, and before the
        // (slow) verification, so neither the answer nor its time tells
        // whether the account exists.
        failures.take(&account)?;
        // An unknown login still costs one verification (see `Passwords::verify`).
        let verified = self.passwords.verify(password, hash).await;
        let Some((user_id, username)) = user.filter(|_| verified) else {
            return Err(AppError::Unauthorized("the login or password is wrong"));
        };
        failures.give_back(&account);

        let scope = format!("login:{user_id}");
        let session_id = created_id(&scope, meta.idempotency_key.as_deref());
        let outcome = self
            .core
            .idempotent(&scope, &"login", meta, async move |msg_id| {
                let at = Utc::now();
                let command = SessionCommand::Start {
                    session_id,
                    user_id,
                    at,
                    expires_at: at + self.core.settings().session_ttl,
                    user_agent: user_agent.clone(),
                };
                let executed = self
                    .core
                    .execute::<Session>(session_id, &msg_id, meta, &command)
                    .await?;
                Ok(CommandOutcome {
                    id: session_id,
                    position: executed.position,
                })
            })
            .await?;
        // The next request may go to any node and any replica.
        self.core
            .shown_everywhere(Projection::Users, outcome.position)
            .await?;
        self.session_tokens(user_id, &username, outcome).await
    }

    /// Trades a refresh token for new tokens. Each refresh token works once:
    /// a spent one ends its session.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        meta: &CommandMeta,
    ) -> Result<SessionTokens, AppError> {
        let claims = self.tokens.verify_refresh(refresh_token.expose())?;
        let scope = format!("session:{}", claims.session_id);
        let request = ("refresh", claims.generation);
        let outcome = self
            .core
            .idempotent(&scope, &request, meta, async move |msg_id| {
                let at = Utc::now();
                let command = SessionCommand::Refresh {
                    generation: claims.generation,
                    at,
                    expires_at: at + self.core.settings().session_ttl,
                };
                let executed = self
                    .core
                    .execute::<Session>(claims.session_id, &msg_id, meta, &command)
                    .await?;
                if let Some(SessionEvent::Ended(_)) = executed.event {
                    // The copy's holder must be locked out before we answer.
                    self.core.settle(Projection::Users, executed.position).await;
                    return Err(AppError::Unauthorized(
                        "the refresh token was used before; the session has ended",
                    ));
                }
                Ok(CommandOutcome {
                    id: claims.session_id,
                    position: executed.position,
                })
            })
            .await?;
        let access = self
            .core
            .read_from(&[Projection::Users], None)
            .await?
            .reads
            .access_by_session(claims.session_id)
            .await?
            .filter(|access| !access.ended)
            .ok_or(AppError::Unauthorized(
                "the session has ended; log in again",
            ))?;
        self.session_tokens(claims.user_id, &access.username, outcome)
            .await
    }

    /// Ends the caller's session.
    pub async fn log_out(
        &self,
        caller: &AuthenticatedUser,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        self.end(caller, caller.session_id, meta).await
    }

    /// Ends one of the caller's sessions, this one or another. Another
    /// member's session is not found, as if it did not exist; one that has
    /// ended already stays so, and answers as if ended now.
    #[tracing::instrument(level = "debug", skip(self, caller, meta))]
    pub async fn end(
        &self,
        caller: &AuthenticatedUser,
        session_id: Uuid,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let request = ("log_out", session_id);
        let command = SessionCommand::End {
            actor: caller.actor.clone(),
            at: Utc::now(),
        };
        let outcome = self
            .core
            .command_on::<Session>(caller.user_id, session_id, &request, meta, command)
            .await?;
        // Its tokens must be refused from the very next request on.
        self.core.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// The caller's sessions that still hold (not ended, not expired),
    /// newest first, at most [`OPEN_SESSIONS_LIMIT`].
    pub async fn open_sessions(
        &self,
        caller: &AuthenticatedUser,
        min_position: Option<u64>,
    ) -> Result<Vec<SessionRow>, AppError> {
        let reads = self
            .core
            .read_from(&[Projection::Users], min_position)
            .await?
            .reads;
        Ok(reads
            .open_sessions_by_user(caller.user_id, Utc::now(), OPEN_SESSIONS_LIMIT)
            .await?)
    }

    /// Ends every session of the caller's, this one included.
    pub async fn log_out_everywhere(
        &self,
        caller: &AuthenticatedUser,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let outcome = self
            .core
            .on_own_account(caller, &"log_out_everywhere", meta, |actor| {
                UserCommand::RevokeSessions {
                    actor,
                    at: Utc::now(),
                }
            })
            .await?;
        self.core.settle(Projection::Users, outcome.position).await;
        Ok(outcome)
    }

    /// The session's current tokens, rebuilt from its events.
    async fn session_tokens(
        &self,
        user_id: Uuid,
        username: &str,
        outcome: CommandOutcome,
    ) -> Result<SessionTokens, AppError> {
        let session = self.core.store().load::<Session>(outcome.id).await?.state;
        let (Some(issued_at), Some(expires_at)) = (session.issued_at, session.expires_at) else {
            return Err(AppError::Unauthorized(
                "the session has ended; log in again",
            ));
        };
        if session.ended {
            return Err(AppError::Unauthorized(
                "the session has ended; log in again",
            ));
        }
        let tokens = &self.tokens;
        let claims = RefreshClaims {
            user_id,
            session_id: outcome.id,
            generation: session.generation,
        };
        Ok(SessionTokens {
            session_id: outcome.id,
            access: tokens.issue(user_id, username, outcome.id),
            refresh_token: tokens.refresh_token(claims, issued_at, expires_at),
            refresh_expires_at: expires_at,
            position: outcome.position,
        })
    }
}
