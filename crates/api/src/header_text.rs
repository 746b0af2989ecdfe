//! A header value made once and sent many times: a warm read must not
//! allocate and validate the same `Cache-Control` and `ETag` text per request.

use std::borrow::Cow;

use poem::http::HeaderValue;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ToHeader, Type};

/// A ready header value, documented as a string.
#[derive(Debug, Clone)]
pub(crate) struct HeaderText(pub(crate) HeaderValue);

impl HeaderText {
    pub(crate) const fn from_static(text: &'static str) -> Self {
        Self(HeaderValue::from_static(text))
    }
}

impl Type for HeaderText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ToHeader for HeaderText {
    fn to_header(&self) -> Option<HeaderValue> {
        // A clone of a static or shared value: no copy of the text.
        Some(self.0.clone())
    }
}
