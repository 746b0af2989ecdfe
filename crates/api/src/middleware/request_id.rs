//! A request id for every request: taken from `X-Request-Id` when the client
//! (or a proxy) sent a sane one, made up otherwise. It is in every log line of
//! the request, in the response header, and on the events the request appends.

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

pub(crate) const HEADER: &str = "x-request-id";

/// The current request's id, in the request's data.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

pub(crate) async fn assign<E: Endpoint>(next: E, mut request: Request) -> poem::Result<Response> {
    let id = request
        .header(HEADER)
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut buffer = uuid::Uuid::encode_buffer();
            uuid::Uuid::now_v7()
                .hyphenated()
                .encode_lower(&mut buffer)
                .to_owned()
        });
    let span = tracing::info_span!("request", request_id = %id);
    let header = HeaderValue::from_maybe_shared(bytes::Bytes::from(id.clone().into_bytes()));
    request.set_data(RequestId(id));
    let mut response = next.call(request).instrument(span).await?.into_response();
    if let Ok(value) = header {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}
