//! The session aggregate: one login, its rotating refresh token, its end.
//!
//! A refresh token names its session and a generation. Each refresh moves the
//! session to the next generation, so a token works once; presenting a spent
//! one means it was copied, and ends the session (refresh-token reuse
//! detection, as the OAuth security best practice asks).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::event_set;
use crate::validation::clean_text;
use crate::{Actor, Aggregate, DomainError};

/// The `User-Agent` a login came with, so that a member can tell their
/// sessions apart. It is information, never a reason to refuse a login: a
/// header that breaks the text rule loses the characters it refuses, and one
/// too long is cut to [`UserAgent::MAX_CHARS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent(String);

impl UserAgent {
    pub const MAX_CHARS: usize = 256;

    /// What a session keeps of a `User-Agent` header (empty when none came).
    pub fn from_header(raw: &str) -> Self {
        let text = clean_text(raw, false);
        Self(text.trim().chars().take(Self::MAX_CHARS).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub enum SessionCommand {
    /// The caller has checked the credentials.
    Start {
        session_id: Uuid,
        user_id: Uuid,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        user_agent: UserAgent,
    },
    Refresh {
        /// The generation the presented refresh token names.
        generation: u32,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// Log out of this session.
    End { actor: Actor, at: DateTime<Utc> },
}

/// A login started a session (v2: with the client's user agent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStarted {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
    /// When the refresh token stops working unless refreshed first.
    pub expires_at: DateTime<Utc>,
    /// The login's `User-Agent` (see [`UserAgent`]); empty when it sent none.
    pub user_agent: String,
}

/// `session.started` v1, as written before sessions kept their user agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStartedV1 {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl SessionStartedV1 {
    /// v1 → v2: the user agent was never recorded, so it is unknown (empty).
    pub fn upcast(self) -> SessionStarted {
        SessionStarted {
            session_id: self.session_id,
            user_id: self.user_id,
            at: self.at,
            expires_at: self.expires_at,
            user_agent: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRefreshed {
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// The generation of the refresh token now valid (1 after the first refresh).
    pub generation: u32,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionEndReason {
    Logout,
    /// A spent refresh token came back: someone else may hold it.
    RefreshTokenReused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEnded {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub reason: SessionEndReason,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SessionEvent {
    Started(SessionStarted),
    Refreshed(SessionRefreshed),
    Ended(SessionEnded),
}

event_set!(SessionEvent {
    Started => SESSION_STARTED,
    Refreshed => SESSION_REFRESHED,
    Ended => SESSION_ENDED,
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub id: Option<Uuid>,
    pub user_id: Uuid,
    pub generation: u32,
    /// When the current generation's refresh token was issued.
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub ended: bool,
}

impl Aggregate for Session {
    const NAME: &'static str = "session";
    type Command = SessionCommand;
    type Event = SessionEvent;

    fn decide(&self, command: &SessionCommand) -> Result<Vec<SessionEvent>, DomainError> {
        const INVALID: DomainError =
            DomainError::NotAuthenticated("the refresh token is invalid or has expired");
        match command {
            SessionCommand::Start {
                session_id,
                user_id,
                at,
                expires_at,
                user_agent,
            } => {
                if self.id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "session",
                        id: session_id.to_string(),
                    });
                }
                Ok(vec![SessionEvent::Started(SessionStarted {
                    session_id: *session_id,
                    user_id: *user_id,
                    at: *at,
                    expires_at: *expires_at,
                    user_agent: user_agent.as_str().to_owned(),
                })])
            }
            SessionCommand::Refresh {
                generation,
                at,
                expires_at,
            } => {
                let Some(session_id) = self.id else {
                    return Err(INVALID);
                };
                if self.ended || self.expires_at.is_none_or(|end| end <= *at) {
                    return Err(INVALID);
                }
                if *generation != self.generation {
                    return Ok(vec![SessionEvent::Ended(SessionEnded {
                        session_id,
                        user_id: self.user_id,
                        reason: SessionEndReason::RefreshTokenReused,
                        at: *at,
                    })]);
                }
                Ok(vec![SessionEvent::Refreshed(SessionRefreshed {
                    session_id,
                    user_id: self.user_id,
                    generation: self.generation + 1,
                    at: *at,
                    expires_at: *expires_at,
                })])
            }
            SessionCommand::End { actor, at } => {
                let Some(session_id) = self.id else {
                    return Err(DomainError::NotFound("session"));
                };
                if actor.user_id != self.user_id {
                    return Err(DomainError::NotFound("session"));
                }
                if self.ended {
                    return Ok(vec![]);
                }
                Ok(vec![SessionEvent::Ended(SessionEnded {
                    session_id,
                    user_id: self.user_id,
                    reason: SessionEndReason::Logout,
                    at: *at,
                })])
            }
        }
    }

    fn evolve(mut self, event: &SessionEvent) -> Self {
        match event {
            SessionEvent::Started(e) => {
                self.id = Some(e.session_id);
                self.user_id = e.user_id;
                self.issued_at = Some(e.at);
                self.expires_at = Some(e.expires_at);
            }
            SessionEvent::Refreshed(e) => {
                self.generation = e.generation;
                self.issued_at = Some(e.at);
                self.expires_at = Some(e.expires_at);
            }
            SessionEvent::Ended(_) => self.ended = true,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn started() -> Session {
        let at = DateTime::UNIX_EPOCH;
        Session::from_history(&[SessionEvent::Started(SessionStarted {
            session_id: Uuid::from_u128(1),
            user_id: Uuid::from_u128(2),
            at,
            expires_at: at + TimeDelta::days(30),
            user_agent: "curl/8.5.0".into(),
        })])
    }

    fn refresh(generation: u32) -> SessionCommand {
        let at = DateTime::UNIX_EPOCH + TimeDelta::hours(1);
        SessionCommand::Refresh {
            generation,
            at,
            expires_at: at + TimeDelta::days(30),
        }
    }

    #[test]
    fn a_refresh_token_works_once_and_its_reuse_ends_the_session() {
        let session = started();
        let events = session.decide(&refresh(0)).unwrap();
        assert!(matches!(events[..], [SessionEvent::Refreshed(ref e)] if e.generation == 1));
        let session = events.iter().fold(session, |s, e| s.evolve(e));

        let events = session.decide(&refresh(0)).unwrap();
        assert!(matches!(
            events[..],
            [SessionEvent::Ended(SessionEnded {
                reason: SessionEndReason::RefreshTokenReused,
                ..
            })]
        ));
        let session = events.iter().fold(session, |s, e| s.evolve(e));
        assert!(session.decide(&refresh(1)).is_err());
    }

    #[test]
    fn a_user_agent_keeps_one_line_of_at_most_256_characters() {
        assert_eq!(UserAgent::from_header("").as_str(), "");
        assert_eq!(
            UserAgent::from_header(" Mozilla/5.0\u{0}\n(X11) ").as_str(),
            "Mozilla/5.0(X11)"
        );
        let long = "é".repeat(300);
        assert_eq!(UserAgent::from_header(&long).as_str().chars().count(), 256);
    }

    #[test]
    fn only_the_sessions_user_can_end_it() {
        let session = started();
        let at = DateTime::UNIX_EPOCH;
        let stranger = Actor::member(Uuid::from_u128(9));
        assert_eq!(
            session.decide(&SessionCommand::End {
                actor: stranger,
                at
            }),
            Err(DomainError::NotFound("session"))
        );
        let owner = Actor::member(Uuid::from_u128(2));
        assert_eq!(
            session
                .decide(&SessionCommand::End { actor: owner, at })
                .unwrap()
                .len(),
            1
        );
    }
}
