//! Password hashing (argon2id) and signed access tokens (JWT, HS256).

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppError;

/// The HMAC key for access tokens. Never printed.
#[derive(Clone)]
pub struct TokenSecret(String);

impl TokenSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(..)")
    }
}

/// Who a valid access token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub user_id: Uuid,
    pub username: String,
}

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    name: String,
    iat: i64,
    exp: i64,
    iss: String,
}

const ISSUER: &str = "resourcify";

/// Issues and checks access tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(secret: &TokenSecret, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.0.as_bytes()),
            decoding: DecodingKey::from_secret(secret.0.as_bytes()),
            validation,
            ttl,
        }
    }

    pub fn issue(&self, user_id: Uuid, username: &str) -> AccessToken {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            name: username.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: ISSUER.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an HMAC key cannot fail");
        AccessToken {
            token,
            expires_in: self.ttl,
        }
    }

    /// Checks signature, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<AuthenticatedUser, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthorized("the access token is invalid or has expired"))?;
        Ok(AuthenticatedUser {
            user_id: data.claims.sub,
            username: data.claims.name,
        })
    }
}

/// argon2id with the crate's recommended parameters. Hashing is deliberately
/// slow, so it runs on the blocking pool, never on a request's worker thread.
#[derive(Debug, Clone, Default)]
pub struct Passwords;

impl Passwords {
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes())
                .expect("16 bytes are a valid salt");
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| AppError::Unavailable(format!("password hashing failed: {e}")))
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("password hashing failed: {e}")))?
    }

    /// True when `password` matches. A `None` hash (unknown login) still costs
    /// one verification, so response times do not reveal which logins exist.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> bool {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let matches = PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            known && matches
        })
        .await
        .unwrap_or(false)
    }
}

/// A hash of a random password, with the default parameters, for timing parity.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Rj0ZlNDP1h1m0SSLQ4w8M5cZo9rPoSYwuUHvlFEBfC0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_a_forged_one_fails() {
        let tokens = Tokens::new(&TokenSecret::new("s3cret"), Duration::from_secs(60));
        let id = Uuid::now_v7();
        let issued = tokens.issue(id, "ada");
        let user = tokens.verify(&issued.token).unwrap();
        assert_eq!(
            user,
            AuthenticatedUser {
                user_id: id,
                username: "ada".into()
            }
        );

        let other = Tokens::new(&TokenSecret::new("other"), Duration::from_secs(60));
        assert!(other.verify(&issued.token).is_err());
        assert!(tokens.verify("not.a.token").is_err());
    }

    #[test]
    fn an_expired_token_fails() {
        let tokens = Tokens::new(&TokenSecret::new("s3cret"), Duration::ZERO);
        let mut issued = tokens.issue(Uuid::now_v7(), "ada");
        // Re-sign with an expiry well past the leeway.
        let claims = Claims {
            sub: Uuid::nil(),
            name: "ada".into(),
            iat: 0,
            exp: 1,
            iss: ISSUER.into(),
        };
        issued.token = jsonwebtoken::encode(&Header::default(), &claims, &tokens.encoding).unwrap();
        assert!(tokens.verify(&issued.token).is_err());
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let passwords = Passwords;
        let hash = passwords.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(passwords.verify("correct horse", Some(hash.clone())).await);
        assert!(!passwords.verify("wrong horse", Some(hash)).await);
        assert!(!passwords.verify("correct horse", None).await);
    }
}
