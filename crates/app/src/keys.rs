//! The server's secrets and what is derived from them: the keys that sign
//! tokens, each with an id so that a rotated-out key can keep verifying
//! for a while, and the key that fingerprints idempotent requests. None of
//! them is ever printed, and nothing stored outside the server lets anyone
//! test a guess of them, or of a password, offline.

use std::fmt::{self, Debug};

use hmac::{Hmac, Mac};
use resourcify_domain::Secret;
use sha2::{Digest, Sha256};

/// A signing secret shorter than this is refused: it could be guessed from
/// one token by brute force.
pub const MIN_SECRET_BYTES: usize = 32;

/// A key that signs (and verifies) tokens. Never printed.
#[derive(Clone, Debug)]
pub struct TokenSecret(Secret);

impl TokenSecret {
    /// For tests and tools that make their own secret; a served secret goes
    /// through [`TokenSecret::parse`].
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Secret::new(secret))
    }

    /// A secret given by an operator, at least [`MIN_SECRET_BYTES`] long;
    /// the error names the setting (`what`), never the value.
    pub fn parse(raw: &str, what: &str) -> Result<Self, String> {
        if raw.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "{what} must be at least {MIN_SECRET_BYTES} bytes (it has {}); \
                 make one with `openssl rand -base64 48`",
                raw.len()
            ));
        }
        Ok(Self(Secret::new(raw)))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose().as_bytes()
    }

    /// The key's id (`kid`), sent with every token it signs: a hash that
    /// tells keys apart without saying anything usable about them.
    pub(crate) fn key_id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"resourcify token key id\0")
            .chain_update(self.bytes())
            .finalize();
        hex::encode(&digest[..8])
    }
}

impl fmt::Display for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Fingerprints of idempotent requests, as stored in the idempotency-key
/// bucket: an HMAC with a key derived from the signing secret, over the
/// request's canonical form, in which each secret (a password) stands only
/// as its own keyed hash. Whoever reads the bucket learns nothing that
/// lets them test a password guess.
#[derive(Clone)]
pub(crate) struct Fingerprints {
    key: Vec<u8>,
}

type HmacSha256 = Hmac<Sha256>;

impl Fingerprints {
    pub(crate) fn new(secret: &TokenSecret) -> Self {
        let mut derive = HmacSha256::new_from_slice(secret.bytes()).expect("HMAC takes any key");
        derive.update(b"resourcify idempotency fingerprints");
        Self {
            key: derive.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key")
    }

    /// The fingerprint of `request` (its `Debug` form, which must hold no
    /// secret) with `secrets`, each as its keyed hash.
    pub(crate) fn of(&self, request: &dyn Debug, secrets: &[&Secret]) -> String {
        let mut canonical = format!("{request:?}");
        for secret in secrets {
            let mut keyed = self.mac();
            keyed.update(secret.expose().as_bytes());
            canonical.push('\u{1f}');
            canonical.push_str(&hex::encode(keyed.finalize().into_bytes()));
        }
        let mut mac = self.mac();
        mac.update(canonical.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl Debug for Fingerprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprints([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused_without_being_named() {
        let error = TokenSecret::parse("hunter2", "RESOURCIFY_JWT_SECRET").unwrap_err();
        assert!(error.contains("RESOURCIFY_JWT_SECRET"), "{error}");
        assert!(error.contains("32 bytes"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let secret = TokenSecret::parse(&"x".repeat(32), "S").unwrap();
        assert_eq!(
            format!("{secret:?} {secret}"),
            "TokenSecret([redacted]) [redacted]"
        );
    }

    #[test]
    fn fingerprints_hold_passwords_only_keyed() {
        let one = Fingerprints::new(&TokenSecret::new("a".repeat(32)));
        let other = Fingerprints::new(&TokenSecret::new("b".repeat(32)));
        let request = ("register", "ada");
        let fingerprint = one.of(&request, &[&Secret::new("correct horse battery staple")]);
        assert_eq!(fingerprint.len(), 64);
        assert!(!fingerprint.contains("horse"));
        // The same request and password: the same fingerprint; another
        // password, or another server key: another one.
        assert_eq!(
            fingerprint,
            one.of(&request, &[&Secret::new("correct horse battery staple")])
        );
        assert_ne!(
            fingerprint,
            one.of(&request, &[&Secret::new("correct horse battery stable")])
        );
        assert_ne!(
            fingerprint,
            other.of(&request, &[&Secret::new("correct horse battery staple")])
        );
    }
}
