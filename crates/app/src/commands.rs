//! The command side: validate, load the aggregate, decide, append with the
//! expected subject sequence, and retry a bounded number of times on conflict.

use chrono::Utc;
use resourcify_domain::resource::{Resource, ResourceCommand, Submission, SubmitResource};
use resourcify_domain::user::{RegisterUser, Registration, User, UserCommand};
use resourcify_domain::{Aggregate, DomainError};
use resourcify_eventstore::{NewEvent, Reservation, Reserved};
use uuid::Uuid;

use crate::auth::{AccessToken, AuthenticatedUser};
use crate::{App, AppError};

/// How often a command is re-decided after losing an append race.
const MAX_ATTEMPTS: usize = 3;

/// Ids of created things are derived from the client's idempotency key, so a
/// retry after a lost response names the same thing instead of a new one.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_7d2e_4b6a_4e8f_9a3c_2d1b_0e7f_6a5c);

/// What a command carries besides its input.
#[derive(Debug, Clone, Default)]
pub struct CommandMeta {
    /// The client's `Idempotency-Key`: created ids and message ids derive from it.
    pub idempotency_key: Option<String>,
    /// The request's id, recorded on the event.
    pub request_id: Option<String>,
}

/// A new account and its first access token.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user_id: Uuid,
    pub username: String,
    pub token: AccessToken,
    pub position: u64,
}

/// A new resource and where its event landed.
#[derive(Debug, Clone, Copy)]
pub struct Submitted {
    pub id: Uuid,
    pub position: u64,
}

/// The id of the thing a command creates and the `Nats-Msg-Id` of its event.
fn identity(kind: &str, idempotency_key: Option<&str>) -> (Uuid, String) {
    match idempotency_key {
        Some(key) => {
            let id = Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, format!("{kind}:{key}").as_bytes());
            (id, format!("{kind}-{id}"))
        }
        None => (Uuid::now_v7(), Uuid::now_v7().to_string()),
    }
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
        let (user_id, msg_id) = identity("user", meta.idempotency_key.as_deref());
        let book = &self.inner.reservations;

        let username = valid.username.as_str();
        if let Reserved::TakenBy(_) = book
            .reserve(Reservation::Username, username, user_id)
            .await?
        {
            return Err(AppError::Conflict(format!(
                "username {username:?} is taken"
            )));
        }
        let email = valid.email.as_str();
        match book.reserve(Reservation::Email, email, user_id).await {
            Ok(Reserved::Held) => {}
            taken_or_failed => {
                book.release(Reservation::Username, username, user_id)
                    .await?;
                taken_or_failed?;
                return Err(AppError::Conflict(
                    "an account with this e-mail address exists".into(),
                ));
            }
        }

        let appended = async {
            let password_hash = self.inner.passwords.hash(registration.password).await?;
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
            Ok(position) => position,
            // A retry (same key, so same user id): the account exists and
            // holds these names; answer as the first request did.
            Err(AppError::Conflict(_)) if meta.idempotency_key.is_some() => {
                self.inner.store.load::<User>(user_id).await?.version
            }
            Err(error) => {
                // Give the names back so the person can try again.
                book.release(Reservation::Username, username, user_id)
                    .await?;
                book.release(Reservation::Email, email, user_id).await?;
                return Err(error);
            }
        };
        Ok(Registered {
            user_id,
            username: username.to_owned(),
            token: self.inner.tokens.issue(user_id, username),
            position,
        })
    }

    #[tracing::instrument(skip_all, fields(author = %author.user_id))]
    pub async fn submit_resource(
        &self,
        author: &AuthenticatedUser,
        submission: Submission<'_>,
        meta: &CommandMeta,
    ) -> Result<Submitted, AppError> {
        let valid = submission.validate().map_err(AppError::Invalid)?;
        // Keys are the client's: two users' equal keys name different resources.
        let scope = format!("resource:{}", author.user_id);
        let (id, msg_id) = identity(&scope, meta.idempotency_key.as_deref());
        // One URL, one resource: claimed before the event is written, so a
        // duplicate is refused however far behind the views are.
        let canonical_url = valid.url.canonical();
        let book = &self.inner.reservations;
        if let Some(key) = &meta.idempotency_key {
            // The key is held by what it was first sent with; the same key
            // with another request is refused before anything is claimed.
            let fingerprint =
                Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, format!("{submission:?}").as_bytes());
            let scoped = format!("{scope}:{key}");
            if let Reserved::TakenBy(_) = book
                .reserve(Reservation::IdempotencyKey, &scoped, fingerprint)
                .await?
            {
                return Err(AppError::IdempotencyKeyReused);
            }
        }
        if let Reserved::TakenBy(existing) = book
            .reserve(Reservation::ResourceUrl, &canonical_url, id)
            .await?
        {
            return Err(AppError::DuplicateResource { existing });
        }
        let command = ResourceCommand::Submit(SubmitResource {
            resource_id: id,
            author_id: author.user_id,
            submission: valid,
            at: Utc::now(),
        });
        match self.execute::<Resource>(id, &msg_id, meta, &command).await {
            Ok(position) => Ok(Submitted { id, position }),
            // A retry after JetStream forgot the message id: the resource it
            // created is the answer.
            Err(AppError::Conflict(_)) if meta.idempotency_key.is_some() => {
                let loaded = self.inner.store.load::<Resource>(id).await?;
                Ok(Submitted {
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
    }

    /// Load → decide → append at the loaded version; on a lost race, again.
    async fn execute<A: Aggregate>(
        &self,
        id: Uuid,
        msg_id: &str,
        meta: &CommandMeta,
        command: &A::Command,
    ) -> Result<u64, AppError> {
        let store = &self.inner.store;
        for _ in 0..MAX_ATTEMPTS {
            let loaded = store.load::<A>(id).await?;
            let events = loaded.state.decide(command)?;
            let [event] = <[A::Event; 1]>::try_from(events).map_err(|events| {
                // Every command of the domain yields exactly one event, which
                // keeps each append atomic on servers without batch publish.
                DomainError::Invalid(resourcify_domain::ValidationErrors::single(
                    "command",
                    format!("produced {} events; expected one", events.len()),
                ))
            })?;
            let new = NewEvent {
                event: event.into(),
                msg_id: msg_id.to_owned(),
                request_id: meta.request_id.clone(),
                time: Utc::now(),
            };
            match store.append(A::NAME, id, loaded.version, new).await {
                Ok(appended) => return Ok(appended.position),
                Err(resourcify_eventstore::EventStoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppError::Contended)
    }
}
