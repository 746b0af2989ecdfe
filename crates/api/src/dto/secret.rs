//! A secret on the wire (a password, a token): a JSON string like any
//! other, `format: password` in the document so that UIs mask it, and
//! [`Secret`] inside, so that no `Debug` of a body ever shows it.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use resourcify_domain::Secret;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct SecretText(pub Secret);

impl SecretText {
    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

impl From<&str> for SecretText {
    fn from(value: &str) -> Self {
        Self(Secret::new(value))
    }
}

impl From<Secret> for SecretText {
    fn from(value: Secret) -> Self {
        Self(value)
    }
}

/// The length validators (`min_length`, `max_length`) read it as text.
impl AsRef<str> for SecretText {
    fn as_ref(&self) -> &str {
        self.0.expose()
    }
}

impl Type for SecretText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string(password)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "password")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

/// Read as any text field is (the document's own checks come first).
impl ParseFromJSON for SecretText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        String::parse_from_json(value)
            .map(|text| Self(Secret::new(text)))
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for SecretText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.expose().to_owned()))
    }
}
