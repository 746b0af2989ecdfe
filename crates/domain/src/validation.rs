//! Field-level validation errors, collected so a client sees every problem at once.

use std::fmt;

use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Every field that failed validation in one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field,
            message: message.into(),
        }])
    }

    /// Parses one field, remembering the error instead of returning early.
    pub fn check<T>(&mut self, field: &'static str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.0.push(FieldError { field, message });
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for error in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{}: {}", error.field, error.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Free text without control characters (bar newlines where `multiline`),
/// trimmed, of at most `max` characters.
pub(crate) fn plain_text(raw: &str, max: usize, multiline: bool) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err("may not contain control characters".into());
    }
    Ok(text.to_owned())
}

const REASON_MAX_CHARS: usize = 500;

/// A reason given for a moderation action: 3 to 500 characters.
pub fn parse_reason(raw: &str) -> Result<String, String> {
    let reason = plain_text(raw, REASON_MAX_CHARS, true)?;
    if reason.chars().count() < 3 {
        return Err("must be at least 3 characters".into());
    }
    Ok(reason)
}
