//! The newest resources and news as Atom 1.0 and RSS 2.0 documents, for
//! feed readers: everything, one tag's, one site's or one member's.
//! Rendered once per change like every cached read.

use std::sync::Arc;

use atom_syndication as atom;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use resourcify_app::ResourceRow;
use resourcify_app::{CacheOutcome, RenderedView};

use crate::cached::{PUBLIC_REVALIDATE, etag_matches};

/// What a feed is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FeedSubject<'a> {
    /// The newest resources and news.
    Everything,
    /// Those with a tag.
    Tag(&'a str),
    /// Those of one site (its name as the site page shows it).
    Site(&'a str),
    /// One member's submissions (their username).
    Member(&'a str),
}

/// Where the feed is served and what it is about.
#[derive(Debug, Clone)]
pub(crate) struct FeedScope<'a> {
    /// `scheme://host` as the client reached us, for absolute links.
    pub origin: &'a str,
    /// The path of the feed document itself.
    pub self_path: &'a str,
    pub subject: FeedSubject<'a>,
}

impl FeedScope<'_> {
    fn title(&self) -> String {
        match self.subject {
            FeedSubject::Everything => "Resourcify".to_owned(),
            FeedSubject::Tag(tag) => format!("Resourcify: {tag}"),
            FeedSubject::Site(site) => format!("Resourcify: {site}"),
            FeedSubject::Member(name) => format!("Resourcify: {name}"),
        }
    }

    fn description(&self) -> String {
        match self.subject {
            FeedSubject::Everything => "The newest resources and tech news".to_owned(),
            FeedSubject::Tag(tag) => format!("The newest resources and tech news tagged {tag}"),
            FeedSubject::Site(site) => format!("The newest resources and tech news from {site}"),
            FeedSubject::Member(name) => format!("The newest resources {name} submitted"),
        }
    }

    fn feed_id(&self) -> String {
        format!("{}{}", self.origin, self.self_path)
    }

    fn resource_link(&self, row: &ResourceRow) -> String {
        format!("{}/v1/resources/{}", self.origin, row.id)
    }
}

/// A text as XML 1.0 can carry it. Views hold clean texts (events are
/// cleaned as they are read), but rows written before that rule may not,
/// and one bad character would make the whole feed unreadable.
fn xml_text(text: &str) -> String {
    resourcify_domain::clean_text(text, true).into_owned()
}

/// Who an entry is by: its author, or the news source it came from.
fn byline(row: &ResourceRow) -> String {
    match (&row.source_title, &row.author_username) {
        (Some(source), _) => xml_text(source),
        (None, Some(author)) => xml_text(author),
        (None, None) => "a former member".to_owned(),
    }
}

pub(crate) fn render_atom(scope: &FeedScope<'_>, rows: &[ResourceRow]) -> Bytes {
    let updated = rows
        .iter()
        .map(|r| r.updated_at)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let entries = rows
        .iter()
        .map(|row| atom::Entry {
            id: format!("urn:uuid:{}", row.id),
            title: atom::Text::plain(xml_text(&row.title)),
            updated: row.updated_at.fixed_offset(),
            published: Some(row.created_at.fixed_offset()),
            authors: vec![atom::Person {
                name: byline(row),
                ..atom::Person::default()
            }],
            links: vec![
                atom::Link {
                    href: xml_text(&row.url),
                    rel: "alternate".into(),
                    ..atom::Link::default()
                },
                atom::Link {
                    href: scope.resource_link(row),
                    rel: "related".into(),
                    mime_type: Some("application/json".into()),
                    ..atom::Link::default()
                },
            ],
            categories: row
                .tags
                .iter()
                .map(|tag| atom::Category {
                    term: xml_text(tag),
                    ..atom::Category::default()
                })
                .collect(),
            summary: (!row.description.is_empty())
                .then(|| atom::Text::plain(xml_text(&row.description))),
            ..atom::Entry::default()
        })
        .collect();
    let feed = atom::Feed {
        title: atom::Text::plain(scope.title()),
        id: scope.feed_id(),
        updated: updated.fixed_offset(),
        subtitle: Some(atom::Text::plain(scope.description())),
        links: vec![atom::Link {
            href: scope.feed_id(),
            rel: "self".into(),
            mime_type: Some(AtomXml::CONTENT_TYPE.into()),
            ..atom::Link::default()
        }],
        generator: Some(atom::Generator {
            value: "Resourcify".into(),
            ..atom::Generator::default()
        }),
        entries,
        ..atom::Feed::default()
    };
    Bytes::from(feed.to_string())
}

pub(crate) fn render_rss(scope: &FeedScope<'_>, rows: &[ResourceRow]) -> Bytes {
    let items = rows
        .iter()
        .map(|row| rss::Item {
            title: Some(xml_text(&row.title)),
            link: Some(xml_text(&row.url)),
            description: (!row.description.is_empty()).then(|| xml_text(&row.description)),
            author: None,
            categories: row
                .tags
                .iter()
                .map(|tag| rss::Category {
                    name: xml_text(tag),
                    domain: None,
                })
                .collect(),
            guid: Some(rss::Guid {
                value: format!("urn:uuid:{}", row.id),
                permalink: false,
            }),
            pub_date: Some(row.created_at.to_rfc2822()),
            source: row.source_title.as_ref().map(|title| rss::Source {
                url: scope.resource_link(row),
                title: Some(title.clone()),
            }),
            ..rss::Item::default()
        })
        .collect();
    let channel = rss::Channel {
        title: scope.title(),
        link: format!("{}/v1/feed", scope.origin),
        description: scope.description(),
        last_build_date: rows
            .iter()
            .map(|r| r.updated_at)
            .max()
            .map(|at| at.to_rfc2822()),
        generator: Some("Resourcify".into()),
        items,
        ..rss::Channel::default()
    };
    Bytes::from(channel.to_string())
}

/// A rendered Atom document.
#[derive(Debug)]
pub(crate) struct AtomXml(pub Bytes);

/// A rendered RSS document.
#[derive(Debug)]
pub(crate) struct RssXml(pub Bytes);

macro_rules! xml_payload {
    ($payload:ident, $content_type:literal) => {
        impl Payload for $payload {
            const CONTENT_TYPE: &'static str = $content_type;

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "xml")))
            }
        }

        impl IntoResponse for $payload {
            fn into_response(self) -> Response {
                Response::builder()
                    .content_type(<Self as Payload>::CONTENT_TYPE)
                    .body(self.0)
            }
        }

        impl From<Bytes> for $payload {
            fn from(body: Bytes) -> Self {
                Self(body)
            }
        }
    };
}

xml_payload!(AtomXml, "application/atom+xml; charset=utf-8");
xml_payload!(RssXml, "application/rss+xml; charset=utf-8");

#[derive(ApiResponse)]
pub(crate) enum FeedResponse<T: Payload + IntoResponse + From<Bytes> + Send> {
    #[oai(status = 200)]
    Ok(
        T,
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
        /// `hit` when answered from this node's memory, `miss` otherwise.
        #[oai(header = "X-Cache")]
        String,
    ),
    /// Unchanged since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

impl<T: Payload + IntoResponse + From<Bytes> + Send> FeedResponse<T> {
    pub(crate) fn new(
        (view, outcome): (Arc<RenderedView>, CacheOutcome),
        if_none_match: Option<&str>,
    ) -> Self {
        if etag_matches(if_none_match, &view.etag) {
            return Self::NotModified(view.etag.clone(), PUBLIC_REVALIDATE.to_owned());
        }
        let cache = match outcome {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
        };
        Self::Ok(
            T::from(view.body.clone()),
            view.etag.clone(),
            PUBLIC_REVALIDATE.to_owned(),
            cache.to_owned(),
        )
    }
}
