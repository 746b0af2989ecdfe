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

/// Whether text from outside may carry `c`: no NUL and no C0 or C1 control
/// character, except line feed, carriage return and tab in texts of several
/// lines. Postgres cannot store NUL, and XML 1.0 (the Atom and RSS feeds)
/// cannot carry most of the others.
pub fn is_text_char(c: char, multiline: bool) -> bool {
    if matches!(c, '\u{FFFE}' | '\u{FFFF}') {
        return false;
    }
    !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'))
}

/// The fields that hold text of several lines, wherever they appear (request
/// bodies and event payloads): every other text is one line.
pub const MULTI_LINE_FIELDS: &[&str] = &["description", "body", "bio", "reason"];

/// [`is_text_char`] as a regular expression (ECMA-262 and Rust alike), for
/// the OpenAPI document and the event schemas: one line of text.
pub const SINGLE_LINE_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F\uFFFE\uFFFF]*$";
/// [`is_text_char`] as a regular expression: text of several lines.
pub const MULTI_LINE_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\uFFFE\uFFFF]*$";

/// Free text without control characters (bar newlines where `multiline`),
/// trimmed, of at most `max` characters.
pub(crate) fn plain_text(raw: &str, max: usize, multiline: bool) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if !text.chars().all(|c| is_text_char(c, multiline)) {
        return Err("may not contain control characters".into());
    }
    Ok(text.to_owned())
}

/// `raw` without the characters [`is_text_char`] refuses: what a view or a
/// feed keeps of a text that reached the log before the rule (or from a
/// producer that skipped it).
pub fn clean_text(raw: &str, multiline: bool) -> std::borrow::Cow<'_, str> {
    if raw.chars().all(|c| is_text_char(c, multiline)) {
        std::borrow::Cow::Borrowed(raw)
    } else {
        std::borrow::Cow::Owned(
            raw.chars()
                .filter(|&c| is_text_char(c, multiline))
                .collect(),
        )
    }
}

/// The one of `all` that `name` calls `raw` (in any case, spaces around
/// it ignored), or a refusal that lists the names: how every closed set of
/// words (roles, resource kinds) is read from outside.
pub(crate) fn one_of<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    raw: &str,
) -> Result<T, String> {
    let raw = raw.trim().to_lowercase();
    all.iter()
        .copied()
        .find(|&value| name(value) == raw)
        .ok_or_else(|| {
            let names: Vec<_> = all.iter().map(|&value| name(value)).collect();
            format!("must be one of {}", names.join(", "))
        })
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

/// A stored event payload whose strings hold characters [`is_text_char`]
/// refuses, cleaned of them (keyed by [`MULTI_LINE_FIELDS`]); the payload
/// itself when it holds none, which is the usual case and costs one scan.
pub(crate) fn clean_payload(payload: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    // serde_json writes control characters escaped (`\u0000`, `\b`, `\f`)
    // and C1 characters raw (UTF-8 0xC2 0x80..=0x9F); U+FFFE/F start 0xEF 0xBF.
    let suspect = payload.windows(2).any(|w| {
        matches!(
            w,
            [b'\\', b'u' | b'b' | b'f'] | [0xC2, 0x80..=0x9F] | [0xEF, 0xBF]
        )
    });
    if !suspect {
        return Cow::Borrowed(payload);
    }
    // Unparsable payloads are for the decoder to report.
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return Cow::Borrowed(payload);
    };
    if !clean_strings(&mut value, false) {
        return Cow::Borrowed(payload);
    }
    Cow::Owned(serde_json::to_vec(&value).expect("a JSON value serialises"))
}

/// Cleans every string in `value`; whether anything changed.
fn clean_strings(value: &mut serde_json::Value, multiline: bool) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => match clean_text(text, multiline) {
            std::borrow::Cow::Borrowed(_) => false,
            std::borrow::Cow::Owned(cleaned) => {
                *text = cleaned;
                true
            }
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            clean_strings(item, multiline) | changed
        }),
        Value::Object(fields) => fields.iter_mut().fold(false, |changed, (key, field)| {
            clean_strings(field, MULTI_LINE_FIELDS.contains(&key.as_str())) | changed
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_payloads_lose_the_characters_the_edge_refuses() {
        let payload =
            br#"{"title":"a\u0000b\u0001c\u0085","description":"x\ny\u0000","tags":["t\u0008"]}"#;
        let cleaned: serde_json::Value = serde_json::from_slice(&clean_payload(payload)).unwrap();
        assert_eq!(
            cleaned,
            serde_json::json!({"title": "abc", "description": "x\ny", "tags": ["t"]})
        );
        let clean = br#"{"title":"caf\u00e9 \\u0000 ok"}"#;
        assert_eq!(&*clean_payload(clean), &clean[..]);
    }

    #[test]
    fn line_breaks_are_text_only_where_several_lines_are() {
        assert!(is_text_char('\n', true));
        assert!(!is_text_char('\n', false));
        assert!(!is_text_char('\0', true));
        assert!(!is_text_char('\u{85}', true));
        assert!(!is_text_char('\u{FFFF}', true));
        assert!(is_text_char('é', false));
    }
}
