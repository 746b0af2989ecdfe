//! Names of everything Resourcify creates on NATS, derived from one namespace.
//!
//! Two deployments (or two tests) with different namespaces share a NATS
//! server without ever seeing each other's subjects, streams or buckets.

use std::fmt;

use uuid::Uuid;

/// A prefix for subjects, stream and bucket names: `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

impl Namespace {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "namespace {raw:?} must be 1 to 64 characters from [A-Za-z0-9_-]"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The one stream that holds every event.
    pub fn stream_name(&self) -> String {
        format!("{}-events", self.0)
    }

    /// `<ns>.events.<aggregate>.<id>`: one subject per aggregate instance.
    pub fn aggregate_subject(&self, aggregate: &str, id: Uuid) -> String {
        format!("{}.events.{aggregate}.{id}", self.0)
    }

    /// Every event subject, for the stream and for consumers of everything.
    pub fn all_events_subject(&self) -> String {
        format!("{}.events.>", self.0)
    }

    /// Core-NATS subject on which a projection announces a committed batch.
    pub fn view_notice_subject(&self, projection: &str) -> String {
        format!("{}.views.{projection}", self.0)
    }

    pub fn all_view_notices_subject(&self) -> String {
        format!("{}.views.*", self.0)
    }

    /// A key-value bucket owned by this namespace.
    pub fn bucket(&self, name: &str) -> String {
        format!("{}-{name}", self.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_must_be_safe_subject_tokens() {
        assert!(Namespace::parse("resourcify").is_ok());
        assert!(Namespace::parse("t_0a-B").is_ok());
        for bad in ["", "a.b", "a b", "a*", "a>", &"x".repeat(65)] {
            assert!(Namespace::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_derive_from_the_namespace() {
        let ns = Namespace::parse("rs").unwrap();
        let id = Uuid::nil();
        assert_eq!(
            ns.aggregate_subject("user", id),
            format!("rs.events.user.{id}")
        );
        assert_eq!(ns.stream_name(), "rs-events");
        assert_eq!(ns.bucket("usernames"), "rs-usernames");
    }
}
