//! JSON rendered once and served many times, documented as its DTO type.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::http::header::CONTENT_TYPE;
use poem::http::{HeaderMap, HeaderValue};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};

/// Ready JSON bytes whose shape is `T`.
#[derive(Debug)]
pub struct RenderedJson<T> {
    body: Bytes,
    schema: PhantomData<fn() -> T>,
}

impl<T: ToJSON> RenderedJson<T> {
    /// Serialises `value` once; the bytes can be cached and sent as they are.
    pub fn render(value: &T) -> Bytes {
        let json = value.to_json().unwrap_or_default();
        Bytes::from(serde_json::to_vec(&json).expect("JSON values serialise"))
    }

    /// Renders what a read found as `T`: the renderer a cached view of
    /// `source`'s kind is given.
    pub fn render_from<S: ?Sized>(source: &S) -> Bytes
    where
        for<'a> T: From<&'a S>,
    {
        Self::render(&T::from(source))
    }

    pub fn from_bytes(body: Bytes) -> Self {
        Self {
            body,
            schema: PhantomData,
        }
    }
}

impl<T: Type> Payload for RenderedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for RenderedJson<T> {
    fn into_response(self) -> Response {
        let mut response = Response::from(self.body);
        // Room for every header a cached answer carries: its own four, a
        // `Link`, and the middleware's four. Growing the map later would
        // rehash it and move every header already in it.
        *response.headers_mut() = HeaderMap::with_capacity(9);
        // A static header value: no parsing per response.
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(<Self as PayloadContentType>::CONTENT_TYPE),
        );
        response
    }
}

/// The content type without requiring `T: Type` in `into_response`.
trait PayloadContentType {
    const CONTENT_TYPE: &'static str;
}

impl<T> PayloadContentType for RenderedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_answer_has_room_for_every_header_it_will_carry() {
        let response =
            RenderedJson::<String>::from_bytes(Bytes::from_static(b"\"text\"")).into_response();
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        assert!(response.headers().capacity() >= 9);
    }
}
