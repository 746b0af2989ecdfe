//! News ingestion: fetch each source's feed (guarded against SSRF), parse
//! it, and append one `news-item.published` event per new item.

pub mod fetch;
mod ingester;
mod metric_families;
pub mod parse;

pub use ingester::{IngestError, Ingester, IngesterSettings, news_item_id};
pub use metric_families::{METRIC_FAMILIES, describe_metrics};
