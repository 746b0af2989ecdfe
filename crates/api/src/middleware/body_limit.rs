//! Request bodies above a size are refused with 413 before anyone reads them.

use poem::http::StatusCode;
use poem::{Body, Endpoint, Request, Response};

pub(crate) async fn enforce<E: Endpoint>(
    next: E,
    mut request: Request,
    max_bytes: usize,
) -> poem::Result<Response>
where
    E::Output: poem::IntoResponse,
{
    let too_large = || {
        poem::Error::from_string(
            format!("the request body is larger than {max_bytes} bytes"),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let declared = request
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(length) if length > max_bytes => return Err(too_large()),
        Some(_) => {}
        // No declared length (chunked): read at most the limit.
        None => {
            let body = request.take_body();
            let bytes = body
                .into_bytes_limit(max_bytes)
                .await
                .map_err(|_| too_large())?;
            request.set_body(Body::from_bytes(bytes));
        }
    }
    next.call(request)
        .await
        .map(poem::IntoResponse::into_response)
}
