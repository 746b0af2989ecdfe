//! The user aggregate: who may log in and submit resources.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent, ValidationErrors};

/// A lower-case handle of 3 to 32 characters from `[a-z0-9_]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim().to_lowercase();
        if !(3..=32).contains(&name.chars().count()) {
            return Err("must be 3 to 32 characters".into());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err("may contain only letters, digits and underscores".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err("is not an e-mail address".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The password rule, checked before the password is hashed (hashing is the
/// caller's job: it needs randomness, which the domain does not have).
pub fn check_password(password: &str) -> Result<(), String> {
    match password.chars().count() {
        0..8 => Err("must be at least 8 characters".into()),
        8..=128 => Ok(()),
        _ => Err("must be at most 128 characters".into()),
    }
}

/// Registration input as it arrives, before any rule is applied.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
}

/// Registration input that passed every field rule.
#[derive(Debug, Clone)]
pub struct ValidRegistration {
    pub username: Username,
    pub email: Email,
}

impl Registration<'_> {
    /// Checks every field, reporting all failures together.
    pub fn validate(&self) -> Result<ValidRegistration, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let username = errors.check("username", Username::parse(self.username));
        let email = errors.check("email", Email::parse(self.email));
        errors.check("password", check_password(self.password));
        match (username, email) {
            (Some(username), Some(email)) if errors.is_empty() => {
                Ok(ValidRegistration { username, email })
            }
            _ => Err(errors),
        }
    }
}

/// Commands on a user.
#[derive(Debug, Clone)]
pub enum UserCommand {
    Register(RegisterUser),
}

#[derive(Debug, Clone)]
pub struct RegisterUser {
    pub user_id: Uuid,
    pub username: Username,
    pub email: Email,
    /// An argon2id PHC string; the plain password never reaches an event.
    pub password_hash: String,
    pub at: DateTime<Utc>,
}

/// A new account exists. Username and e-mail were reserved before this was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub registered_at: DateTime<Utc>,
}

/// Events of the user aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    Registered(UserRegistered),
}

impl From<UserEvent> for DomainEvent {
    fn from(event: UserEvent) -> Self {
        match event {
            UserEvent::Registered(e) => DomainEvent::UserRegistered(e),
        }
    }
}

impl TryFrom<DomainEvent> for UserEvent {
    type Error = DomainEvent;

    fn try_from(event: DomainEvent) -> Result<Self, Self::Error> {
        match event {
            DomainEvent::UserRegistered(e) => Ok(UserEvent::Registered(e)),
            other => Err(other),
        }
    }
}

/// What the write side needs to know about a user to decide commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub registered: Option<Uuid>,
}

impl Aggregate for User {
    const NAME: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;

    fn decide(&self, command: &UserCommand) -> Result<Vec<UserEvent>, DomainError> {
        match command {
            UserCommand::Register(cmd) => {
                if self.registered.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "user",
                        id: cmd.user_id.to_string(),
                    });
                }
                Ok(vec![UserEvent::Registered(UserRegistered {
                    user_id: cmd.user_id,
                    username: cmd.username.as_str().to_owned(),
                    email: cmd.email.as_str().to_owned(),
                    password_hash: cmd.password_hash.clone(),
                    registered_at: cmd.at,
                })])
            }
        }
    }

    fn evolve(self, event: &UserEvent) -> Self {
        match event {
            UserEvent::Registered(e) => User {
                registered: Some(e.user_id),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(user_id: Uuid) -> UserCommand {
        UserCommand::Register(RegisterUser {
            user_id,
            username: Username::parse("Ada_Lovelace").unwrap(),
            email: Email::parse(" Ada@Example.org ").unwrap(),
            password_hash: "$argon2id$stub".into(),
            at: DateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn registering_a_new_user_records_normalised_names() {
        let id = Uuid::from_u128(1);
        let events = User::default().decide(&register(id)).unwrap();
        let [UserEvent::Registered(e)] = events.as_slice() else {
            panic!("expected one UserRegistered, got {events:?}")
        };
        assert_eq!(e.username, "ada_lovelace");
        assert_eq!(e.email, "ada@example.org");
        assert_eq!(e.user_id, id);
    }

    #[test]
    fn registering_twice_is_refused() {
        let id = Uuid::from_u128(1);
        let user = User::from_history(&User::default().decide(&register(id)).unwrap());
        assert!(matches!(
            user.decide(&register(id)),
            Err(DomainError::AlreadyExists { .. })
        ));
    }

    #[test]
    fn registration_reports_every_bad_field() {
        let errors = Registration {
            username: "a!",
            email: "not-an-email",
            password: "short",
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["username", "email", "password"]);
    }

    #[test]
    fn email_rules() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in [
            "", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.de", "a@.b", "a@b.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
