//! News ingestion: fetch each source's feed (guarded against SSRF), parse
//! it, and append one `news-item.published` event per new item.

pub mod fetch;
mod ingester;
pub mod parse;

pub use ingester::{IngestError, Ingester, IngesterSettings, news_item_id};
