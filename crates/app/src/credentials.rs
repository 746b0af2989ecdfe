//! Who a request speaks for, and what proves it: password hashing
//! (argon2id), signed access and refresh tokens (JWT, HS256).

use std::time::Duration;

use argon2::password_hash::SaltString;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use resourcify_domain::{Actor, Secret};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::keys::TokenSecret;

/// Who a request speaks for: the token's user and session, with the
/// standing the users view holds for them right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub user_id: Uuid,
    pub username: String,
    pub session_id: Uuid,
    pub actor: Actor,
}

/// What a verified access token claims, before the session is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: Uuid,
    pub username: String,
    pub session_id: Uuid,
}

/// What a verified refresh token names: a session and a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshClaims {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub generation: u32,
}

/// A freshly issued access token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_in: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generation: Option<u32>,
    iat: i64,
    exp: i64,
    iss: String,
    /// `access` or `refresh`: neither kind is accepted as the other.
    aud: String,
}

const ISSUER: &str = "resourcify";
const ACCESS: &str = "access";
const REFRESH: &str = "refresh";

/// Issues and checks access and refresh tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    /// The signing key's id, in every token's header.
    key_id: String,
    /// Verifying keys by id: the signing key's, and a rotated-out one's
    /// while the operator keeps it configured.
    decoding: Vec<(String, DecodingKey)>,
    access_validation: Validation,
    refresh_validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn validation(audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.leeway = 5;
    validation
}

impl Tokens {
    /// Signs with `secret`; verifies tokens of `secret` and of `previous`
    /// (the key before a rotation), told apart by their key id.
    pub fn new(secret: &TokenSecret, previous: Option<&TokenSecret>, ttl: Duration) -> Self {
        let decoding = [Some(secret), previous]
            .into_iter()
            .flatten()
            .map(|key| (key.key_id(), DecodingKey::from_secret(key.bytes())))
            .collect();
        Self {
            encoding: EncodingKey::from_secret(secret.bytes()),
            key_id: secret.key_id(),
            decoding,
            access_validation: validation(ACCESS),
            refresh_validation: validation(REFRESH),
            ttl,
        }
    }

    fn sign(&self, claims: &Claims) -> Secret {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map(Secret::new)
            .expect("HS256 signing with an HMAC key cannot fail")
    }

    /// The key that signed `token`, by the id in its header; a token
    /// without one (signed before keys had ids) is tried with the signing
    /// key.
    fn key_of(&self, token: &str) -> Option<&DecodingKey> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid;
        let wanted = kid.as_deref().unwrap_or(&self.key_id);
        (self.decoding.iter())
            .find(|(id, _)| id == wanted)
            .map(|(_, key)| key)
    }

    fn decode(&self, token: &str, validation: &Validation) -> Option<Claims> {
        let key = self.key_of(token)?;
        jsonwebtoken::decode::<Claims>(token, key, validation)
            .ok()
            .map(|data| data.claims)
    }

    /// A short-lived token for `session_id`'s requests.
    pub fn issue(&self, user_id: Uuid, username: &str, session_id: Uuid) -> AccessToken {
        let now = Utc::now().timestamp();
        let token = self.sign(&Claims {
            sub: user_id,
            sid: session_id,
            name: Some(username.to_owned()),
            generation: None,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: ISSUER.into(),
            aud: ACCESS.into(),
        });
        AccessToken {
            token,
            expires_in: self.ttl,
        }
    }

    /// The refresh token of a session's generation. Everything in it comes
    /// from the session's events, so the same generation always yields the
    /// same token: a retried login or refresh can answer it again.
    pub fn refresh_token(
        &self,
        claims: RefreshClaims,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Secret {
        self.sign(&Claims {
            sub: claims.user_id,
            sid: claims.session_id,
            name: None,
            generation: Some(claims.generation),
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.into(),
            aud: REFRESH.into(),
        })
    }

    /// Checks an access token's signature, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AppError> {
        let claims = self
            .decode(token, &self.access_validation)
            .ok_or(AppError::Unauthorized(
                "the access token is invalid or has expired",
            ))?;
        Ok(AccessClaims {
            user_id: claims.sub,
            username: claims.name.unwrap_or_default(),
            session_id: claims.sid,
        })
    }

    /// Checks a refresh token's signature, issuer, audience and expiry.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, AppError> {
        let claims = self
            .decode(token, &self.refresh_validation)
            .ok_or(AppError::Unauthorized(
                "the refresh token is invalid or has expired",
            ))?;
        Ok(RefreshClaims {
            user_id: claims.sub,
            session_id: claims.sid,
            generation: claims
                .generation
                .ok_or(AppError::Unauthorized("the refresh token is invalid"))?,
        })
    }
}

/// argon2id with the crate's recommended parameters. Hashing is deliberately
/// slow, so it runs on the blocking pool, never on a request's worker
/// thread, in working memory made once and reused (`hashing.rs`).
#[derive(Debug, Clone, Default)]
pub struct Passwords;

impl Passwords {
    pub async fn hash(&self, password: &Secret) -> Result<String, AppError> {
        let password = password.expose().to_owned();
        let salt =
            SaltString::encode_b64(Uuid::new_v4().as_bytes()).expect("16 bytes are a valid salt");
        crate::hashing::with_memory(move |blocks| {
            crate::hashing::hash(password.as_bytes(), &salt, blocks)
                .map_err(|e| AppError::Unavailable(format!("password hashing failed: {e}")))
        })
        .await
        .unwrap_or_else(|| Err(AppError::Unavailable("password hashing failed".into())))
    }

    /// True when `password` matches. A `None` hash (unknown login) still costs
    /// one verification, so response times do not reveal which logins exist.
    pub async fn verify(&self, password: &Secret, hash: Option<String>) -> bool {
        let password = password.expose().to_owned();
        crate::hashing::with_memory(move |blocks| {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let matches = crate::hashing::verify(password.as_bytes(), &hash, blocks);
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
        let tokens = Tokens::new(&TokenSecret::new("s3cret"), None, Duration::from_secs(60));
        let (id, sid) = (Uuid::now_v7(), Uuid::now_v7());
        let issued = tokens.issue(id, "ada", sid);
        let claims = tokens.verify(issued.token.expose()).unwrap();
        assert_eq!(
            claims,
            AccessClaims {
                user_id: id,
                username: "ada".into(),
                session_id: sid,
            }
        );

        let other = Tokens::new(&TokenSecret::new("other"), None, Duration::from_secs(60));
        assert!(other.verify(issued.token.expose()).is_err());
        assert!(tokens.verify("not.a.token").is_err());
    }

    #[test]
    fn after_a_rotation_the_previous_key_verifies_while_it_is_kept() {
        let ttl = Duration::from_secs(60);
        let (old, new) = (
            TokenSecret::new("o".repeat(32)),
            TokenSecret::new("n".repeat(32)),
        );
        let before = Tokens::new(&old, None, ttl);
        let issued = before.issue(Uuid::now_v7(), "ada", Uuid::now_v7());
        let rotated = Tokens::new(&new, Some(&old), ttl);
        assert!(
            rotated.verify(issued.token.expose()).is_ok(),
            "kept: still verifies"
        );
        let fresh = rotated.issue(Uuid::now_v7(), "ada", Uuid::now_v7());
        assert!(rotated.verify(fresh.token.expose()).is_ok());
        let header = jsonwebtoken::decode_header(fresh.token.expose()).unwrap();
        assert_eq!(header.kid, Some(new.key_id()), "signed with the new key");
        let dropped = Tokens::new(&new, None, ttl);
        assert!(
            dropped.verify(issued.token.expose()).is_err(),
            "dropped: no longer"
        );
        assert!(before.verify(fresh.token.expose()).is_err());
    }

    #[test]
    fn access_and_refresh_tokens_are_not_interchangeable() {
        let tokens = Tokens::new(&TokenSecret::new("s3cret"), None, Duration::from_secs(60));
        let claims = RefreshClaims {
            user_id: Uuid::now_v7(),
            session_id: Uuid::now_v7(),
            generation: 3,
        };
        let now = Utc::now();
        let refresh = tokens.refresh_token(claims, now, now + chrono::TimeDelta::days(1));
        assert_eq!(tokens.verify_refresh(refresh.expose()).unwrap(), claims);
        assert_eq!(
            refresh,
            tokens.refresh_token(claims, now, now + chrono::TimeDelta::days(1)),
            "a generation's token can be issued again"
        );
        assert!(tokens.verify(refresh.expose()).is_err());
        let access = tokens.issue(claims.user_id, "ada", claims.session_id);
        assert!(tokens.verify_refresh(access.token.expose()).is_err());
    }

    #[test]
    fn an_expired_token_fails() {
        let tokens = Tokens::new(&TokenSecret::new("s3cret"), None, Duration::ZERO);
        let expired = tokens.sign(&Claims {
            sub: Uuid::nil(),
            sid: Uuid::nil(),
            name: Some("ada".into()),
            generation: None,
            iat: 0,
            exp: 1,
            iss: ISSUER.into(),
            aud: ACCESS.into(),
        });
        assert!(tokens.verify(expired.expose()).is_err());
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let passwords = Passwords;
        let hash = passwords.hash(&Secret::new("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            passwords
                .verify(&Secret::new("correct horse"), Some(hash.clone()))
                .await
        );
        assert!(
            !passwords
                .verify(&Secret::new("wrong horse"), Some(hash))
                .await
        );
        assert!(!passwords.verify(&Secret::new("correct horse"), None).await);
    }
}
