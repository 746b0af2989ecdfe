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
        move |source| {
            let code = source
                .as_database_error()
                .and_then(|e| e.code())
                .map(|c| c.into_owned());
            match code.as_deref() {
                // query_canceled (statement_timeout) and lock_not_available (lock_timeout)
                Some("57014" | "55P03") => Self::TimedOut { query },
                _ => Self::Unavailable { query, source },
            }
        }
    }
}
