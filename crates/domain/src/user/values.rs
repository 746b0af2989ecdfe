//! The values a user is made of, each parsed once at the edge.

use crate::Secret;
use crate::ValidationErrors;
use crate::resource::ResourceUrl;
use crate::validation::plain_text;

const DISPLAY_NAME_MAX_CHARS: usize = 50;
pub(crate) const BIO_MAX_CHARS: usize = 500;

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

/// The longest e-mail address, in characters (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// [`Email::parse`]'s rule as a regular expression for the OpenAPI
/// document: something, `@`, and a domain with a dot that neither starts
/// nor ends it; no white space inside, control characters or U+FFFE/U+FFFF
/// (which every text field refuses); spaces around it, which the parser
/// trims (not `\s`: ECMA's takes U+FEFF, which trimming leaves). With
/// [`EMAIL_MAX_CHARS`] it admits only what the parser accepts.
pub const EMAIL_PATTERN: &str = concat!(
    r"^ *[^\s@\x00-\x1F\x7F-\x9F\uFFFE\uFFFF]+",
    r"@[^\s@.\x00-\x1F\x7F-\x9F\uFFFE\uFFFF]",
    r"[^\s@\x00-\x1F\x7F-\x9F\uFFFE\uFFFF]*\.",
    r"[^\s@\x00-\x1F\x7F-\x9F\uFFFE\uFFFF]*[^\s@.\x00-\x1F\x7F-\x9F\uFFFE\uFFFF] *$"
);

/// An e-mail address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        // Counted before lower-casing, which may lengthen a few letters.
        let email = raw.to_lowercase();
        let valid = raw.chars().count() <= EMAIL_MAX_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
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

/// Registration input as it arrives, before any rule is applied. Its
/// `Debug`, which logs and fingerprints see, shows no password.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a Secret,
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
        errors.check("password", check_password(self.password.expose()));
        match (username, email) {
            (Some(username), Some(email)) if errors.is_empty() => {
                Ok(ValidRegistration { username, email })
            }
            _ => Err(errors),
        }
    }
}

/// The public profile: a display name, a short bio and a website, each
/// possibly empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub display_name: String,
    pub bio: String,
    pub website: String,
}

/// A profile change as it arrives: absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange<'a> {
    pub display_name: Option<&'a str>,
    pub bio: Option<&'a str>,
    pub website: Option<&'a str>,
}

/// A profile change whose given fields passed every rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidProfileChange {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub website: Option<String>,
}

impl ProfileChange<'_> {
    pub fn validate(&self) -> Result<ValidProfileChange, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let display_name = errors.check(
            "display_name",
            self.display_name
                .map(|raw| plain_text(raw, DISPLAY_NAME_MAX_CHARS, false))
                .transpose(),
        );
        let bio = errors.check(
            "bio",
            self.bio
                .map(|raw| plain_text(raw, BIO_MAX_CHARS, true))
                .transpose(),
        );
        let website = errors.check(
            "website",
            self.website
                .map(|raw| match raw.trim() {
                    "" => Ok(String::new()),
                    url => ResourceUrl::parse(url).map(|u| u.as_str().to_owned()),
                })
                .transpose(),
        );
        if self.display_name.is_none() && self.bio.is_none() && self.website.is_none() {
            errors.check::<()>(
                "profile",
                Err("name at least one of display_name, bio, website".into()),
            );
        }
        match (display_name, bio, website) {
            (Some(display_name), Some(bio), Some(website)) if errors.is_empty() => {
                Ok(ValidProfileChange {
                    display_name,
                    bio,
                    website,
                })
            }
            _ => Err(errors),
        }
    }
}
