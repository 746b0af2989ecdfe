//! The values a resource is made of, each parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationErrors;
use crate::validation::{is_text_char, plain_text};

// The rules of a resource's fields; the OpenAPI document states them from
// here too, so they are written once.
/// A title's length in characters, after trimming.
pub const TITLE_CHARS: std::ops::RangeInclusive<usize> = 3..=200;
/// A description's length in characters, after trimming.
pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
/// A URL's length in bytes.
pub const URL_MAX_LEN: usize = 2_048;
/// How many distinct tags a resource carries.
pub const TAGS_PER_RESOURCE: std::ops::RangeInclusive<usize> = 1..=5;
/// A tag's length in characters.
pub const TAG_MAX_CHARS: usize = 32;
/// A tag's characters as given (they are lower-cased when parsed).
pub const TAG_PATTERN: &str = r"^[A-Za-z0-9+#.-]+$";

/// A title of 3 to 200 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(pub(super) String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = plain_text(raw, usize::MAX, false)?;
        if TITLE_CHARS.contains(&title.chars().count()) {
            Ok(Self(title))
        } else {
            Err(format!(
                "must be {} to {} characters",
                TITLE_CHARS.start(),
                TITLE_CHARS.end()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The shape [`ResourceUrl::parse`] needs, as a regular expression (ECMA-262
/// and Rust alike) for the OpenAPI document: an http(s) scheme in any case,
/// a host, no spaces or control characters. Parsing still decides; this
/// lets clients and fuzzers know the shape before they send.
pub const URL_PATTERN: &str =
    r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7F-\x9F/?#]+([/?#][^\x00-\x20\x7F-\x9F]*)?$";

/// An absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUrl(url::Url);

impl ResourceUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        // The URL parser would quietly drop or escape them.
        if !raw.chars().all(|c| is_text_char(c, false)) {
            return Err("may not contain control characters".into());
        }
        if raw.len() > URL_MAX_LEN {
            return Err(format!("must be at most {URL_MAX_LEN} bytes"));
        }
        let url = url::Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        // A password in a shared link leaks it to everyone who reads it.
        if !url.username().is_empty() || url.password().is_some() {
            return Err("may not contain a user name or password".into());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The form under which two submissions count as the same resource,
    /// one page whatever its spelling: `https` for either scheme; scheme
    /// and host lower-cased, a trailing dot and default ports dropped;
    /// percent-escapes of unreserved characters decoded and the others in
    /// upper case; runs of `/` in the path made one, and a trailing slash
    /// dropped from any path but `/`; the fragment and tracking parameters
    /// (`utm_*`, `fbclid`, `gclid`, in any case) removed.
    pub fn canonical(&self) -> String {
        let mut url = self.0.clone();
        url.set_fragment(None);
        // Both schemes have a default port, which parsing already dropped.
        let _ = url.set_scheme("https");
        if let Some(host) = url.host_str().filter(|h| h.ends_with('.')) {
            let host = host.trim_end_matches('.').to_owned();
            let _ = url.set_host(Some(&host));
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !is_tracking_parameter(key))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        let mut path = normalise_escapes(url.path());
        while path.contains("//") {
            path = path.replace("//", "/");
        }
        if path.len() > 1 && path.ends_with('/') {
            path.truncate(path.trim_end_matches('/').len().max(1));
        }
        url.set_path(&path);
        url.to_string()
    }
}

fn is_tracking_parameter(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || key == "fbclid" || key == "gclid"
}

/// Decodes `%XX` escapes of unreserved characters (RFC 3986 2.3: letters,
/// digits, `-._~`), which mean the same as the character, and upper-cases
/// the hex digits of the others.
fn normalise_escapes(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| path.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) => {
                out.push(char::from(byte));
                i += 3;
            }
            Some(byte) => {
                out.push_str(&format!("%{byte:02X}"));
                i += 3;
            }
            None => {
                // Within `path`, which is a `&str`: a whole character at a time.
                let c = path[i..].chars().next().expect("within the string");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// Free text of at most 5,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(pub(super) String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        plain_text(raw, DESCRIPTION_MAX_CHARS, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag from the normalised vocabulary: lower-case `[a-z0-9+#.-]`, 1 to 32 characters.
/// A refusal says what is wrong, never the value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub(super) String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS {
            return Err(format!("must be 1 to {TAG_MAX_CHARS} characters"));
        }
        if !tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+#.-".contains(c))
        {
            return Err("may contain only a-z, 0-9 and the characters + # . -".to_owned());
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 5 distinct tags, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags(pub(super) Vec<Tag>);

impl Tags {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
        for (index, tag) in raw.iter().enumerate() {
            // Which tag, by its place: a refusal never repeats the value.
            let tag = Tag::parse(tag.as_ref()).map_err(|m| format!("tag {} {m}", index + 1))?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if TAGS_PER_RESOURCE.contains(&tags.len()) {
            Ok(Self(tags))
        } else {
            Err(format!(
                "must name {} to {} distinct tags",
                TAGS_PER_RESOURCE.start(),
                TAGS_PER_RESOURCE.end()
            ))
        }
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.as_str().to_owned()).collect()
    }
}

/// What sort of thing a resource links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Article,
    Video,
    Course,
    Book,
    Tool,
    Podcast,
    Other,
}

impl ResourceKind {
    pub const ALL: [Self; 7] = [
        Self::Article,
        Self::Video,
        Self::Course,
        Self::Book,
        Self::Tool,
        Self::Podcast,
        Self::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Article => "article",
            Self::Video => "video",
            Self::Course => "course",
            Self::Book => "book",
            Self::Tool => "tool",
            Self::Podcast => "podcast",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        crate::validation::one_of(&Self::ALL, |kind| kind.as_str(), raw)
    }
}

/// Submission input as it arrives, before any rule is applied.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub kind: &'a str,
}

/// Submission input that passed every field rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSubmission {
    pub title: Title,
    pub url: ResourceUrl,
    pub description: Description,
    pub tags: Tags,
    pub kind: ResourceKind,
}

impl Submission<'_> {
    /// Checks every field, reporting all failures together.
    pub fn validate(&self) -> Result<ValidSubmission, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = errors.check("title", Title::parse(self.title));
        let url = errors.check("url", ResourceUrl::parse(self.url));
        let description = errors.check("description", Description::parse(self.description));
        let tags = errors.check("tags", Tags::parse(self.tags));
        let kind = errors.check("kind", self.kind.parse());
        match (title, url, description, tags, kind) {
            (Some(title), Some(url), Some(description), Some(tags), Some(kind)) => {
                Ok(ValidSubmission {
                    title,
                    url,
                    description,
                    tags,
                    kind,
                })
            }
            _ => Err(errors),
        }
    }
}

/// An edit as it arrives: absent fields stay as they are. The URL cannot
/// change: it is what makes a resource that resource (retract and submit
/// anew instead).
#[derive(Debug, Clone, Default)]
pub struct ResourceEdit<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub tags: Option<&'a [String]>,
    pub kind: Option<&'a str>,
}

/// An edit whose given fields passed every rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidResourceEdit {
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub tags: Option<Tags>,
    pub kind: Option<ResourceKind>,
}

impl ResourceEdit<'_> {
    pub fn validate(&self) -> Result<ValidResourceEdit, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = errors.check("title", self.title.map(Title::parse).transpose());
        let description = errors.check(
            "description",
            self.description.map(Description::parse).transpose(),
        );
        let tags = errors.check("tags", self.tags.map(Tags::parse).transpose());
        let kind = errors.check("kind", self.kind.map(str::parse).transpose());
        if self.title.is_none()
            && self.description.is_none()
            && self.tags.is_none()
            && self.kind.is_none()
        {
            errors.check::<()>(
                "resource",
                Err("name at least one of title, description, tags, kind".into()),
            );
        }
        match (title, description, tags, kind) {
            (Some(title), Some(description), Some(tags), Some(kind)) if errors.is_empty() => {
                Ok(ValidResourceEdit {
                    title,
                    description,
                    tags,
                    kind,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A feed item as the ingester read it. Feeds are written by strangers, so
/// an item is accepted leniently: over-long text is cut, unusable
/// categories are dropped; only an item without a usable link is refused.
#[derive(Debug, Clone)]
pub struct NewsItemDraft<'a> {
    pub title: &'a str,
    pub url: &'a str,
    /// Plain text (the ingester strips markup).
    pub summary: &'a str,
    /// The source's tags, then the item's own categories.
    pub tags: &'a [String],
}

/// A feed item fit to be a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidNewsItem {
    pub title: Title,
    pub url: ResourceUrl,
    pub summary: Description,
    pub tags: Tags,
}

/// `text` with runs of whitespace and control characters made one space,
/// cut to `max` characters (with an ellipsis when cut).
fn tidy(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

impl NewsItemDraft<'_> {
    pub fn validate(&self) -> Result<ValidNewsItem, String> {
        let url = ResourceUrl::parse(self.url).map_err(|e| format!("link {e}"))?;
        let title = match Title::parse(&tidy(self.title, *TITLE_CHARS.end())) {
            Ok(title) => title,
            // A title too short to stand alone is shown as its link.
            Err(_) => Title(tidy(url.as_str(), *TITLE_CHARS.end())),
        };
        let summary = Description(tidy(self.summary, DESCRIPTION_MAX_CHARS));
        let mut tags: Vec<Tag> = Vec::new();
        for raw in self.tags {
            let Ok(tag) = Tag::parse(&raw.trim().replace(char::is_whitespace, "-")) else {
                continue;
            };
            if !tags.contains(&tag) && tags.len() < *TAGS_PER_RESOURCE.end() {
                tags.push(tag);
            }
        }
        if tags.is_empty() {
            tags.push(Tag("news".to_owned()));
        }
        Ok(ValidNewsItem {
            title,
            url,
            summary,
            tags: Tags(tags),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ResourceUrl;

    fn canonical(raw: &str) -> String {
        ResourceUrl::parse(raw).unwrap().canonical()
    }

    #[test]
    fn one_page_is_one_resource_however_its_url_is_spelled() {
        let pairs = [
            ("http://example.org/page", "https://example.org/page"),
            ("https://example.org./page", "https://example.org/page"),
            ("https://example.org/%70ath", "https://example.org/path"),
            ("https://example.org/a%2fb", "https://example.org/a%2Fb"),
            ("https://example.org//path", "https://example.org/path"),
            ("https://example.org/a//b/", "https://example.org/a/b"),
            (
                "https://example.org/p?UTM_Source=x&id=1",
                "https://example.org/p?id=1",
            ),
            ("https://example.org/p?FBCLID=y", "https://example.org/p"),
            ("HTTP://Example.ORG:80/p#top", "https://example.org/p"),
        ];
        for (one, other) in pairs {
            assert_eq!(canonical(one), canonical(other), "{one} ~ {other}");
        }
        // Not everything is the same page.
        assert_ne!(
            canonical("https://example.org/a%2Fb"),
            canonical("https://example.org/a/b")
        );
        assert_ne!(
            canonical("https://example.org/p?id=1"),
            canonical("https://example.org/p?id=2")
        );
        assert_eq!(canonical("https://example.org/"), "https://example.org/");
    }

    #[test]
    fn a_url_with_a_user_name_or_password_is_refused() {
        for raw in [
            "https://ada:s3cret@example.org/",
            "https://ada@example.org/",
        ] {
            let refusal = ResourceUrl::parse(raw).unwrap_err();
            assert!(refusal.contains("user name or password"), "{refusal}");
        }
    }
}
