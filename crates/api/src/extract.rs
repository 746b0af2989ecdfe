//! The parameters many operations share, each read and checked in one place:
//! the `Idempotency-Key` of every write ([`CommandHeaders`]), the
//! read-your-writes position of every read (with the ETags a client holds
//! for a cached view: [`ConditionalRead`]), and the page of every list. The OpenAPI document declares
//! each once, under `components/parameters`, and names it on the operations
//! that take it (`contract::document`). Also the `User-Agent` a login
//! records, which is information, never refused, and so no parameter.

use std::ops::Deref;

use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody};
use resourcify_app::{CommandMeta, PageRequest};
use resourcify_domain::session::UserAgent;

/// The names the wire uses, which the document's shared parameters repeat.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
pub(crate) const MIN_POSITION_HEADER: &str = "X-Resourcify-Min-Position";
pub(crate) const MIN_POSITION_QUERY: &str = "min_position";
pub(crate) const IF_NONE_MATCH: &str = "If-None-Match";
/// A page holds 1 to this many items; 20 when not said.
pub(crate) const PAGE_LIMIT_MAX: u32 = 100;

/// A client's key for a write: the same key, the same outcome (README,
/// "Idempotency").
#[derive(Debug, Default)]
pub(crate) struct IdempotencyKey(pub(crate) Option<String>);

/// What every command carries besides its body: the client's
/// `Idempotency-Key` and this request's id. Taking it is what makes a
/// write accept an `Idempotency-Key`; it reads as the [`CommandMeta`] the
/// application layer takes, as poem's `Json` reads as its body.
#[derive(Debug)]
pub(crate) struct CommandHeaders(CommandMeta);

impl Deref for CommandHeaders {
    type Target = CommandMeta;

    fn deref(&self) -> &CommandMeta {
        &self.0
    }
}

/// A read of a cached view: the position it waits for, and the ETags the
/// client holds for it.
#[derive(Debug, Default)]
pub(crate) struct ConditionalRead {
    pub(crate) min_position: Option<u64>,
    pub(crate) if_none_match: IfNoneMatch,
}

/// The position a read waits for: the larger of the header and query forms.
#[derive(Debug, Default)]
pub(crate) struct MinPosition(pub(crate) Option<u64>);

/// Which page of a list: its size, the cursor the previous page gave, and
/// the list's own address, which the next page's `Link` keeps (every
/// parameter but the cursor and the position to wait for).
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    list: String,
    list_query: Vec<(String, String)>,
}

impl Page {
    pub(crate) fn request(&self) -> PageRequest<'_> {
        PageRequest {
            limit: self.limit,
            cursor: self.cursor.as_deref(),
        }
    }

    /// The RFC 8288 `Link` to the page after this one, if there is one.
    pub(crate) fn next_link(&self, next_cursor: Option<&str>) -> Option<String> {
        next_cursor.map(|cursor| format!("<{}>; rel=\"next\"", self.after(cursor)))
    }

    /// The address of the page after `cursor`: this list, as asked.
    fn after(&self, cursor: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&self.list_query);
        query.append_pair("cursor", cursor);
        format!("{}?{}", self.list, query.finish())
    }
}

/// The client's `User-Agent`, as a session keeps it: any bytes, the text
/// rule applied and cut to its length here, at the edge ([`UserAgent`]).
#[derive(Debug, Default)]
pub(crate) struct ClientUserAgent(pub(crate) UserAgent);

/// The ETags a client holds for a view (`If-None-Match`): a match answers
/// 304 with no body.
#[derive(Debug, Default)]
pub(crate) struct IfNoneMatch(pub(crate) Option<String>);

fn bad_parameter(name: &str, what: &str) -> poem::Error {
    poem::Error::from_string(format!("`{name}` {what}"), StatusCode::BAD_REQUEST)
}

/// The value of a query parameter, decoded (the last, if repeated).
/// The first value of a query parameter: of a repeated one, the first, as
/// poem's `Query` takes it for every other parameter.
fn query_value(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn position(raw: &str, name: &str) -> poem::Result<u64> {
    raw.trim()
        .parse()
        .map_err(|_| bad_parameter(name, "must be a stream position (a whole number)"))
}

impl<'a> FromRequest<'a> for IdempotencyKey {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else {
            return Ok(Self(None));
        };
        // As the document states it: 1 to 255 visible ASCII characters.
        let key = value.as_bytes();
        if key.is_empty() || key.len() > 255 || !key.iter().all(|b| (b'!'..=b'~').contains(b)) {
            return Err(bad_parameter(
                IDEMPOTENCY_KEY,
                "must be 1 to 255 visible ASCII characters, without spaces",
            ));
        }
        Ok(Self(Some(String::from_utf8_lossy(key).into_owned())))
    }
}

impl<'a> FromRequest<'a> for CommandHeaders {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let key = IdempotencyKey::from_request(request, body).await?;
        Ok(Self(CommandMeta {
            idempotency_key: key.0,
            request_id: crate::current_request_id(),
        }))
    }
}

impl<'a> FromRequest<'a> for ConditionalRead {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self {
            min_position: MinPosition::from_request(request, body).await?.0,
            if_none_match: IfNoneMatch::from_request(request, body).await?,
        })
    }
}

impl<'a> FromRequest<'a> for MinPosition {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        let header = match request.headers().get(MIN_POSITION_HEADER) {
            Some(value) => Some(position(
                value.to_str().unwrap_or_default(),
                MIN_POSITION_HEADER,
            )?),
            None => None,
        };
        let query = match query_value(request, MIN_POSITION_QUERY) {
            Some(value) => Some(position(&value, MIN_POSITION_QUERY)?),
            None => None,
        };
        Ok(Self(header.max(query)))
    }
}

impl<'a> FromRequest<'a> for Page {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        let limit = match query_value(request, "limit") {
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(limit) if (1..=PAGE_LIMIT_MAX).contains(&limit) => Some(limit),
                _ => {
                    return Err(bad_parameter(
                        "limit",
                        &format!("must be a whole number from 1 to {PAGE_LIMIT_MAX}"),
                    ));
                }
            },
            None => None,
        };
        let list_query =
            url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .filter(|(key, _)| key != "cursor" && key != MIN_POSITION_QUERY)
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
        Ok(Self {
            limit,
            cursor: query_value(request, "cursor"),
            list: request.uri().path().to_owned(),
            list_query,
        })
    }
}

impl<'a> FromRequest<'a> for ClientUserAgent {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        let raw = request
            .headers()
            .get(poem::http::header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .unwrap_or_default();
        Ok(Self(UserAgent::from_header(&raw)))
    }
}

impl<'a> FromRequest<'a> for IfNoneMatch {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(
            request
                .headers()
                .get(IF_NONE_MATCH)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        ))
    }
}
