//! Request bodies above a size are refused with 413 before anyone reads them.

use poem::http::StatusCode;
use poem::{Body, Request};

/// Refuses a body declared larger than `max_bytes`; one without a declared
/// length (chunked) is read, at most `max_bytes` of it, and put back.
pub(crate) async fn enforce(request: &mut Request, max_bytes: usize) -> poem::Result<()> {
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
        None => {
            let body = request.take_body();
            let bytes = body
                .into_bytes_limit(max_bytes)
                .await
                .map_err(|error| match error {
                    poem::error::ReadBodyError::PayloadTooLarge => too_large(),
                    // A chunk size that is not hex, a chunk shorter than it
                    // said, a connection that broke: not a size problem.
                    _ => poem::Error::from_string(
                        "the request body could not be read: its chunked encoding is malformed \
                         or the connection broke",
                        StatusCode::BAD_REQUEST,
                    ),
                })?;
            request.set_body(Body::from_bytes(bytes));
        }
    }
    Ok(())
}
