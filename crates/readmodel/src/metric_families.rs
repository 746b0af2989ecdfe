//! The metric families the read model records, named and described here
//! beside the code that records them (the binary describes every crate's at
//! start, see `resourcify::install_metrics`).

use metrics::Unit;

/// Every named query, as `instrument::timed` labels it: one file each under
/// `queries/`, of the same name. Their metrics are listed from the start.
pub(crate) const NAMED_QUERIES: [&str; 46] = [
    "access_by_session",
    "account_by_id",
    "bookmark_entries_by_user",
    "bookmarks_by_user",
    "comment_by_id",
    "comment_votes_by_user",
    "comments_by_author",
    "comments_by_resource",
    "comments_by_resource_ranked",
    "credentials_by_login",
    "dead_letters_page",
    "email_by_user",
    "flag_queue_page",
    "flags_by_user",
    "followed_tags_by_user",
    "followed_users_by_user",
    "hidden_tags_by_user",
    "long_running_queries",
    "moderation_log_page",
    "news_source_by_id",
    "news_sources_due",
    "news_sources_page",
    "notifications_after",
    "notifications_newest",
    "notifications_unread_count",
    "open_sessions_by_user",
    "ping",
    "profile_by_username",
    "projection_checkpoint",
    "projection_checkpoints",
    "resource_by_id",
    "resource_history_newest",
    "resource_history_oldest",
    "resources_by_author",
    "resources_by_site",
    "resources_hot",
    "resources_hot_in_scopes",
    "resources_in_scopes",
    "resources_newest",
    "resources_search",
    "resources_top",
    "sessions_by_user",
    "site_by_name",
    "tags_by_count",
    "user_id_by_username",
    "votes_by_user",
];

/// Time each named query took, by query.
pub const DB_QUERY_DURATION: &str = "resourcify_db_query_duration_seconds";
/// Named queries slower than the threshold, by query.
pub const DB_SLOW_QUERIES: &str = "resourcify_db_slow_queries_total";

/// Every family the read model records.
pub const METRIC_FAMILIES: &[&str] = &[DB_QUERY_DURATION, DB_SLOW_QUERIES];

/// Describes the families and registers every named query with zero, so a
/// fresh node lists them before any query is slow.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        DB_QUERY_DURATION,
        Unit::Seconds,
        "Time each named read query took, by query."
    );
    metrics::describe_counter!(
        DB_SLOW_QUERIES,
        Unit::Count,
        "Named read queries that took longer than the slow-query threshold (RESOURCIFY_SLOW_QUERY_MS), by query."
    );
    for query in NAMED_QUERIES {
        // A histogram is listed once it has a handle; recording would count a sample.
        let _listed = metrics::histogram!(DB_QUERY_DURATION, "query" => query);
        metrics::counter!(DB_SLOW_QUERIES, "query" => query).increment(0);
    }
}
