//! A secret (a password, a token, a key) that never shows itself.

use std::fmt;

/// A password, a token or a key. Its `Debug` and `Display` say
/// `[redacted]`, so a secret that reaches a log line, an error, a panic
/// message or `--help` shows nothing; the value is read only where it is
/// used, through [`Secret::expose`], which is easy to find in review.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes, which says nothing usable about it.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_shows_nothing_of_itself() {
        let secret = Secret::new("correct horse battery staple");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            password: Secret,
        }
        let shown = format!(
            "{secret} {secret:?} {:?} {:#?}",
            Holder {
                password: secret.clone()
            },
            Some(&secret)
        );
        assert!(!shown.contains("horse"), "{shown}");
        assert_eq!(shown.matches("[redacted]").count(), 4, "{shown}");
        assert_eq!(secret.expose(), "correct horse battery staple");
        let parsed: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(parsed.expose(), "hunter2");
    }
}
