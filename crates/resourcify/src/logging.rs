//! Log output: text or JSON lines on stderr, each line written while a
//! request is handled carrying that request's id.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON.
pub fn init_tracing(json: bool) {
    init_tracing_at(json, "info");
}

/// Logs to stderr, filtered by `RUST_LOG` or else by `default_filter`
/// (e.g. `warn`), as text or JSON.
pub fn init_tracing_at(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .event_format(WithRequestId {
                inner: tracing_subscriber::fmt::format().json(),
                json: true,
            })
            .init();
    } else {
        builder
            .event_format(WithRequestId {
                inner: tracing_subscriber::fmt::format(),
                json: false,
            })
            .init();
    }
}

/// Wraps an event format, adding `request_id` to lines logged inside a request.
struct WithRequestId<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(id) = resourcify_api::current_request_id() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_request_id(&line, &id, self.json))
    }
}

/// Adds the id to one formatted line: a leading field in text, a member of
/// the object in JSON. Request ids are `[A-Za-z0-9._:-]`, so need no escaping.
fn with_request_id(line: &str, id: &str, json: bool) -> String {
    match (json, line.strip_prefix('{')) {
        (true, Some(rest)) => format!("{{\"request_id\":\"{id}\",{rest}"),
        _ => format!("request_id={id} {line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_request_id;

    #[test]
    fn the_request_id_joins_text_and_json_lines() {
        assert_eq!(
            with_request_id("WARN slow query\n", "abc-1", false),
            "request_id=abc-1 WARN slow query\n"
        );
        let json = with_request_id("{\"level\":\"WARN\"}\n", "abc-1", true);
        let parsed: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(parsed["request_id"], "abc-1");
        assert_eq!(parsed["level"], "WARN");
    }
}
