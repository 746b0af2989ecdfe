//! A request id for every request: taken from `X-Request-Id` when the client
//! (or a proxy) sent a sane one, made up otherwise. It is in the response
//! header, on the events the request appends, and in every log line written
//! while the request is handled.
//!
//! The id reaches the logs through a task-local that the log formatter reads
//! (see [`current`]), not through a tracing span: a span per request costs
//! more than the warm read it wraps, while a task-local costs nothing until
//! a line is actually logged.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use poem::Request;
use poem::http::{HeaderName, HeaderValue};
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// The id of the request being handled by the current task, if any.
pub fn current() -> Option<String> {
    CURRENT
        .try_with(|id| id.to_str().ok().map(str::to_owned))
        .ok()
        .flatten()
}

pub(crate) static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Makes ids that are unique across processes without asking the kernel
/// for randomness on every request: a random process prefix and a counter.
#[derive(Debug)]
pub(crate) struct RequestIds {
    /// `<process prefix as 16 hex digits>-`, written once.
    prefix: [u8; 17],
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> Self {
        let mut prefix = [b'-'; 17];
        hex_into(uuid::Uuid::new_v4().as_u64_pair().0, &mut prefix[..16]);
        Self {
            prefix,
            next: AtomicU64::new(0),
        }
    }

    fn make(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // `<prefix>-<counter as 16 hex digits>`, without the formatting
        // machinery: this runs on every request.
        let mut id = [0u8; 33];
        id[..17].copy_from_slice(&self.prefix);
        hex_into(n, &mut id[17..]);
        HeaderValue::from_bytes(&id).expect("hex digits and a dash are a valid header")
    }
}

fn hex_into(mut value: u64, digits: &mut [u8]) {
    for digit in digits.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

impl RequestIds {
    /// The id for `request`: the caller's when sane, else a new one.
    pub(crate) fn pick(&self, request: &Request) -> HeaderValue {
        match request.headers().get(&HEADER) {
            Some(given) if given.to_str().is_ok_and(acceptable) => given.clone(),
            _ => self.make(),
        }
    }
}

/// Runs `work` with `id` as the current request id (for the logs). A plain
/// function, not an `async fn`: that would hold `work` twice over.
pub(crate) fn scope<F: Future>(id: HeaderValue, work: F) -> TaskLocalFuture<HeaderValue, F> {
    CURRENT.scope(id, work)
}

/// The id back from a finished [`scope`], for the response: cheaper than
/// a copy made beforehand.
pub(crate) fn take<F: Future>(scope: Pin<&mut TaskLocalFuture<HeaderValue, F>>) -> HeaderValue {
    scope
        .take_value()
        .expect("a finished scope gives its value back once")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_ids_are_distinct_fixed_width_hex() {
        let ids = RequestIds::new();
        let (a, b) = (ids.make(), ids.make());
        assert_ne!(a, b);
        let a = a.to_str().unwrap();
        assert_eq!(a.len(), 33);
        assert!(acceptable(a));
        assert!(a.ends_with("-0000000000000000"), "{a}");
    }

    #[test]
    fn hostile_ids_are_not_taken_over() {
        assert!(acceptable("req-42.a:b_c"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("quote\""));
        assert!(!acceptable(&"x".repeat(65)));
    }
}
