//! Reading a fetched feed (RSS 2.0, Atom 1.0 or JSON Feed, by feed-rs) into
//! the few things an item needs, as plain text.

use chrono::{DateTime, Utc};

/// One entry of a feed, before the domain's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// The entry's id in its feed (RSS `guid`, Atom `id`, JSON Feed `id`);
    /// feed-rs derives one from the link and title when there is none.
    pub guid: String,
    pub title: String,
    pub link: Option<String>,
    /// Plain text: markup is stripped.
    pub summary: String,
    pub categories: Vec<String>,
    pub published: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    /// In the feed's order.
    pub entries: Vec<FeedEntry>,
}

/// Parses `body`, resolving relative links against `base`. The error is
/// a sentence for the source's admin.
pub fn parse_feed(body: &[u8], base: &url::Url) -> Result<ParsedFeed, String> {
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .build()
        .parse(body)
        .map_err(|e| format!("the feed could not be read: {e}"))?;
    let entries = feed
        .entries
        .into_iter()
        .map(|entry| {
            let link = entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
                .or(entry.links.first())
                .and_then(|l| base.join(&l.href).ok())
                .map(String::from);
            let summary = entry
                .summary
                .map(|s| s.content)
                .or_else(|| entry.content.and_then(|c| c.body))
                .unwrap_or_default();
            FeedEntry {
                guid: entry.id,
                title: entry
                    .title
                    .map(|t| plain_text(&t.content))
                    .unwrap_or_default(),
                link,
                summary: plain_text(&summary),
                categories: entry
                    .categories
                    .into_iter()
                    .map(|c| c.label.unwrap_or(c.term))
                    .collect(),
                published: entry.published.or(entry.updated),
            }
        })
        .collect();
    Ok(ParsedFeed {
        title: feed.title.map(|t| plain_text(&t.content)),
        entries,
    })
}

/// Text with markup removed: tags dropped (with the contents of `script`
/// and `style`), the common entities decoded. Summaries are shown as text,
/// never as HTML, so this is about legibility, not safety.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[1..close].trim_start_matches('/').to_ascii_lowercase();
        rest = &after[close + 1..];
        for hidden in ["script", "style"] {
            if tag.starts_with(hidden) && !after[1..].starts_with('/') {
                let end = format!("</{hidden}");
                rest = match rest.to_ascii_lowercase().find(&end) {
                    Some(at) => &rest[at..],
                    None => "",
                };
            }
        }
        // Block elements separate words.
        text.push(' ');
    }
    text.push_str(rest);
    decode_entities(&text)
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            plain_text("<p>Rust&nbsp;1.90 &amp; <b>more</b></p><script>alert(1)</script>!"),
            " Rust 1.90 &  more    !"
        );
        assert_eq!(plain_text("a &#233;t&#xE9; &bogus; &"), "a été &bogus; &");
        assert_eq!(plain_text("unclosed <a href="), "unclosed ");
    }

    #[test]
    fn rss_atom_and_json_feed_entries_are_read() {
        let base = url::Url::parse("https://example.org/feed").unwrap();
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>
            <item><guid>g1</guid><title>First &amp; best</title><link>/posts/1</link>
            <description>&lt;p&gt;Hello&lt;/p&gt;</description><category>Rust</category>
            <pubDate>Tue, 10 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>"#;
        let feed = parse_feed(rss, &base).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Blog"));
        let entry = &feed.entries[0];
        assert_eq!(entry.guid, "g1");
        assert_eq!(entry.title, "First & best");
        assert_eq!(entry.link.as_deref(), Some("https://example.org/posts/1"));
        assert_eq!(entry.summary.trim(), "Hello");
        assert_eq!(entry.categories, ["Rust"]);
        assert!(entry.published.is_some());

        let atom = br#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
            <title>Atom</title><id>urn:x</id><updated>2026-11-10T10:00:00Z</updated>
            <entry><id>urn:e1</id><title>One</title><link href="https://example.org/a"/>
            <updated>2026-11-10T10:00:00Z</updated><summary>S</summary></entry></feed>"#;
        assert_eq!(parse_feed(atom, &base).unwrap().entries[0].guid, "urn:e1");

        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
            "items":[{"id":"j1","url":"https://example.org/j","title":"Jay","content_text":"t"}]}"#;
        let entries = parse_feed(json, &base).unwrap().entries;
        assert_eq!(entries[0].link.as_deref(), Some("https://example.org/j"));
    }

    #[test]
    fn garbage_is_a_readable_error() {
        let base = url::Url::parse("https://example.org/feed").unwrap();
        let error = parse_feed(b"<html><body>not a feed", &base).unwrap_err();
        assert!(error.starts_with("the feed could not be read"), "{error}");
    }
}
