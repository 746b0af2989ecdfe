//! Errors of the read side.

/// What can go wrong reading or writing a read model.
#[derive(Debug, thiserror::Error)]
pub enum ReadModelError {
    /// The query ran past `statement_timeout` or waited past `lock_timeout`.
    #[error("query {query} was cancelled after its time limit")]
    TimedOut { query: &'static str },
    /// Postgres is unreachable or failed; the caller may retry later.
    #[error("read model unavailable in {query}: {source}")]
    Unavailable {
        query: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl ReadModelError {
    pub(crate) fn from_sqlx(query: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| match PgFailure::of(&source) {
            PgFailure::Cancelled | PgFailure::LockTimeout => Self::TimedOut { query },
            PgFailure::BadData | PgFailure::Other => Self::Unavailable { query, source },
        }
    }
}

/// What a Postgres error means for the one who got it. Every place that
/// must tell errors apart asks this, so SQLSTATE codes appear only here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgFailure {
    /// `query_canceled` (57014): the statement ran past `statement_timeout`.
    Cancelled,
    /// `lock_not_available` (55P03): it waited past `lock_timeout`.
    LockTimeout,
    /// Classes 22 (data exception) and 23 (integrity constraint violation):
    /// about the data written, not the database; retrying cannot help.
    BadData,
    /// Anything else, the connection's failures included: it may pass.
    Other,
}

impl PgFailure {
    pub fn of(error: &sqlx::Error) -> Self {
        let Some(code) = error.as_database_error().and_then(|e| e.code()) else {
            return Self::Other;
        };
        match code.as_ref() {
            "57014" => Self::Cancelled,
            "55P03" => Self::LockTimeout,
            c if c.starts_with("22") || c.starts_with("23") => Self::BadData,
            _ => Self::Other,
        }
    }
}
