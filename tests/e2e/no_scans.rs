//! No read is a table scan: every named query under
//! `crates/readmodel/queries/` is planned against a seeded database, and any
//! sequential scan of a read-model table fails the test.

use std::path::PathBuf;

use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgPool, Row};

/// Tables whose size is fixed by design (one row per projection); a scan of
/// them costs the same at any load.
pub(crate) const BOUNDED_TABLES: &[&str] = &["projection_checkpoints"];

const RESOURCES: i64 = 50_000;
const USERS: i64 = 50_000;
const NEWS_SOURCES: i64 = 2_000;
const NEWS_ITEMS: i64 = 20_000;

/// Fills the read models the way years of use would: many users, many
/// resources, several tags each, one very common tag.
pub(crate) async fn seed(pool: &PgPool) {
    let statements = [
        format!(
            "INSERT INTO user_credentials (user_id, username, email, password_hash, registered_at)
             SELECT md5('u' || i)::uuid, 'user' || i, 'user' || i || '@example.org', '$argon2id$x', now()
             FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO user_access (user_id, username, roles)
             SELECT md5('u' || i)::uuid, 'user' || i,
                    CASE WHEN i % 100 = 0 THEN ARRAY['moderator'] ELSE '{{}}' END
             FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO user_profiles (user_id, username, registered_at)
             SELECT md5('u' || i)::uuid, 'user' || i, now() FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO sessions (session_id, user_id, started_at, expires_at, ended_at)
             SELECT md5('s' || i)::uuid, md5('u' || (i % {USERS} + 1))::uuid, now(),
                    now() + interval '30 days', CASE WHEN i % 3 = 0 THEN now() END
             FROM generate_series(1, {USERS} * 4) AS i"
        ),
        format!(
            "INSERT INTO resource_authors (user_id, username)
             SELECT md5('u' || i)::uuid, 'user' || i FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO resources (id, listed_at, title, url, description, tags, kind, author_id,
                                    created_at, updated_at, version)
             SELECT md5('r' || i)::uuid, i, 'Resource ' || i, 'https://example.org/' || i, '',
                    ARRAY['common', 'tag' || (i % 500)], 'article',
                    md5('u' || (i % {USERS} + 1))::uuid, now(), now(), 1
             FROM generate_series(1, {RESOURCES}) AS i"
        ),
        "UPDATE resources SET hidden = (listed_at % 97 = 0), retracted = (listed_at % 89 = 0),
                              search = resource_search(title, tags, description)"
            .to_owned(),
        "INSERT INTO resource_vote_counts (resource_id, votes)
         SELECT id, listed_at % 50 FROM resources WHERE listed_at % 50 > 0"
            .to_owned(),
        "INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
         SELECT s.scope, r.listed_at, r.id, coalesce(c.votes, 0),
                resource_hot(coalesce(c.votes, 0), r.created_at)
         FROM resources r
         LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
         CROSS JOIN LATERAL (
             SELECT 'all'
             UNION ALL SELECT 'tag:' || t FROM unnest(r.tags) AS t
             UNION ALL SELECT 'kind:' || r.kind
             UNION ALL SELECT 'author:' || r.author_id
         ) AS s (scope)
         WHERE NOT r.hidden AND NOT r.retracted"
            .to_owned(),
        "INSERT INTO tag_counts (tag, resources)
         SELECT substr(scope, 5), count(*) FROM resource_listings
         WHERE scope LIKE 'tag:%' GROUP BY 1"
            .to_owned(),
        format!(
            "INSERT INTO comments (id, resource_id, parent_id, author_id, body, path, depth, posted_at)
             SELECT md5('c' || i)::uuid, md5('r' || (i % {RESOURCES} + 1))::uuid, NULL,
                    md5('u' || (i % {USERS} + 1))::uuid, 'A comment', lpad(i::text, 20, '0'), 0, now()
             FROM generate_series(1, {RESOURCES} * 2) AS i"
        ),
        format!(
            "INSERT INTO bookmarks (user_id, resource_id, position, bookmarked_at)
             SELECT md5('u' || (i % {USERS} + 1))::uuid, md5('r' || i)::uuid, i, now()
             FROM generate_series(1, {RESOURCES}) AS i"
        ),
        format!(
            "INSERT INTO followed_tags (user_id, tag)
             SELECT md5('u' || i)::uuid, 'tag' || (i % 500) FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO hidden_tags (user_id, tag)
             SELECT md5('u' || i)::uuid, 'tag' || (i % 500) FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO followed_users (user_id, followee_id)
             SELECT md5('u' || i)::uuid, md5('u' || (i % {USERS} + 1))::uuid
             FROM generate_series(1, {USERS}) AS i"
        ),
        "INSERT INTO moderation_log (position, action, subject_kind, subject_id, reason, at)
         SELECT listed_at, 'resource.hidden', 'resource', id, 'spam', now()
         FROM resources WHERE hidden"
            .to_owned(),
        "INSERT INTO dead_letters (projection, position, subject, event_type, payload, error)
         SELECT p, i, 'resourcify.events.resource.x', 'resourcify.resource.submitted.v1', '', 'bad'
         FROM generate_series(1, 2000) AS i, unnest(ARRAY['users', 'resources']) AS p"
            .to_owned(),
        format!(
            "INSERT INTO news_sources (id, listed_at, url, tags, poll_interval_seconds, status,
                                       next_fetch_at, added_at, updated_at, removed, position)
             SELECT md5('s' || i)::uuid, i, 'https://news.example.org/' || i, ARRAY['news'], 900,
                    'ok', now() + (i % 100 - 50) * interval '1 minute', now(), now(),
                    i % 10 = 0, i
             FROM generate_series(1, {NEWS_SOURCES}) AS i"
        ),
        format!(
            "INSERT INTO resources (id, listed_at, title, url, description, tags, kind, author_id,
                                    source_id, source_title, created_at, updated_at, version)
             SELECT md5('n' || i)::uuid, {RESOURCES} + i, 'News ' || i,
                    'https://news.example.org/item/' || i, '', ARRAY['news', 'tag' || (i % 500)],
                    'article', '00000000-0000-0000-0000-000000000000',
                    md5('s' || (i % {NEWS_SOURCES} + 1))::uuid, 'Source', now(), now(), 1
             FROM generate_series(1, {NEWS_ITEMS}) AS i"
        ),
        format!(
            "INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
             SELECT s.scope, r.listed_at, r.id, 0, resource_hot(0, r.created_at)
             FROM resources r
             CROSS JOIN LATERAL (
                 SELECT 'news'
                 UNION ALL SELECT 'news:source:' || r.source_id
                 UNION ALL SELECT 'news:tag:' || t FROM unnest(r.tags) AS t
             ) AS s (scope)
             WHERE r.listed_at > {RESOURCES}"
        ),
        // Projection "history": every resource's submission, and two edits
        // of every third one.
        "INSERT INTO resource_revisions (resource_id, position, edit, editor_id, at, title,
                                         description, tags, kind)
         SELECT id, listed_at, false, author_id, created_at, title, description, tags, kind
         FROM resources"
            .to_owned(),
        format!(
            "INSERT INTO resource_revisions (resource_id, position, edit, editor_id, at, title,
                                             description, tags, kind)
             SELECT id, {RESOURCES} * 10 + listed_at * 2 + e, true, author_id, now(),
                    title || ' v' || e, description, tags, kind
             FROM resources, generate_series(1, 2) AS e WHERE listed_at % 3 = 0"
        ),
        "INSERT INTO revision_editors (user_id, username)
         SELECT user_id, username FROM resource_authors"
            .to_owned(),
        // Projection "sites": 5,000 sites of ten resources each.
        "INSERT INTO site_resources (resource_id, site, listed_at, hidden, retracted)
         SELECT id, 'site' || (listed_at % 5000) || '.example', listed_at, hidden, retracted
         FROM resources"
            .to_owned(),
        "INSERT INTO site_counts (site, resources)
         SELECT site, count(*) FILTER (WHERE NOT hidden AND NOT retracted)
         FROM site_resources GROUP BY site"
            .to_owned(),
        format!(
            "INSERT INTO comment_votes (comment_id, user_id, up, voted_at)
             SELECT md5('c' || i)::uuid, md5('u' || (i * 3 % {USERS} + 1))::uuid, i % 4 <> 0, now()
             FROM generate_series(1, {RESOURCES} * 2) AS i"
        ),
        "UPDATE comments SET upvotes = 1 WHERE id IN (SELECT comment_id FROM comment_votes WHERE up)"
            .to_owned(),
        "UPDATE comments SET downvotes = 1
         WHERE id IN (SELECT comment_id FROM comment_votes WHERE NOT up)"
            .to_owned(),
        format!(
            "INSERT INTO resource_karma (user_id, votes)
             SELECT md5('u' || i)::uuid, i % 50 + 1 FROM generate_series(1, {USERS}) AS i"
        ),
        format!(
            "INSERT INTO comment_karma (user_id, karma)
             SELECT md5('u' || i)::uuid, i % 20 - 5 FROM generate_series(1, {USERS}) AS i"
        ),
        // Projection "flags": every fifth resource flagged one to six
        // times (held from three), with the flags behind each entry.
        format!(
            "INSERT INTO flag_queue (target_id, target_kind, resource_id, flags, held, queued_at,
                                     first_flagged_at)
             SELECT md5('r' || i)::uuid, 'resource', md5('r' || i)::uuid, i % 6 + 1, i % 6 >= 2,
                    {RESOURCES} * 20 + i, now()
             FROM generate_series(1, {RESOURCES}) AS i WHERE i % 5 = 0"
        ),
        format!(
            "INSERT INTO flags (target_id, target_kind, user_id, reason, at)
             SELECT q.target_id, q.target_kind, md5('u' || (q.queued_at % {USERS} + n))::uuid,
                    (ARRAY['spam', 'off-topic', 'other'])[n % 3 + 1], now()
             FROM flag_queue q, generate_series(1, q.flags) AS n"
        ),
        // Projection "notifications": every member, resource and comment
        // known, four notifications per resource.
        "INSERT INTO notification_members (user_id, username, read_up_to)
         SELECT user_id, username, 100 FROM resource_authors"
            .to_owned(),
        "INSERT INTO notification_resources (resource_id, submitter_id, title)
         SELECT id, author_id, title FROM resources"
            .to_owned(),
        "INSERT INTO notification_comments (comment_id, author_id, resource_id)
         SELECT id, author_id, resource_id FROM comments"
            .to_owned(),
        "INSERT INTO notifications (recipient_id, position, kind, actor_id, resource_id,
                                    comment_id, at)
         SELECT r.author_id, r.listed_at * 4 + k, 'comment',
                md5('u' || (r.listed_at % 997 + 1))::uuid, r.id,
                md5('n' || (r.listed_at * 4 + k))::uuid, now()
         FROM resources r, generate_series(0, 3) AS k"
            .to_owned(),
        "INSERT INTO projection_checkpoints (projection, position)
         VALUES ('users', 55000), ('resources', 55000)"
            .to_owned(),
        "ANALYZE".to_owned(),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Realistic arguments for each named query, by file name.
fn bind<'q>(
    name: &str,
    query: Query<'q, sqlx::Postgres, PgArguments>,
) -> Query<'q, sqlx::Postgres, PgArguments> {
    let some_resource = uuid::Uuid::parse_str("8d777f38-5fc4-a5b4-3ce1-c5d3a8f4e3d2").unwrap();
    // md5('u42')
    let some_user = uuid::Uuid::parse_str("1c7082c8-4e57-6341-de71-3934775ff522").unwrap();
    match name {
        "resource_by_id" => query.bind(some_resource),
        // Any id: the lookup is by primary key.
        "comment_by_id" => query.bind(some_user),
        "resources_newest" => query.bind("tag:common").bind(i64::MAX).bind(21_i64),
        "resources_top" => query.bind("all").bind(i32::MAX).bind(i64::MAX).bind(21_i64),
        "resources_hot" => query
            .bind("kind:article")
            .bind(f64::MAX)
            .bind(i64::MAX)
            .bind(21_i64),
        "resources_hot_in_scopes" => query
            .bind(vec!["all".to_owned(), "news".to_owned()])
            .bind(f64::MAX)
            .bind(i64::MAX)
            .bind(21_i64),
        "news_sources_page" => query.bind(i64::MAX).bind(21_i64),
        "news_source_by_id" => query.bind(some_resource),
        "news_sources_due" => query.bind(chrono::Utc::now()).bind(100_i64),
        "resources_in_scopes" => query
            .bind(vec![
                "tag:common".to_owned(),
                "tag:tag7".to_owned(),
                "author:x".to_owned(),
            ])
            .bind(i64::MAX)
            .bind(21_i64),
        "resources_search" => query
            .bind("resource 4242")
            .bind(f64::MAX)
            .bind(i64::MAX)
            .bind(21_i64),
        "bookmarks_by_user" => query.bind(some_user).bind(i64::MAX).bind(21_i64),
        "tags_by_count" => query.bind(i32::MAX).bind("").bind(21_i64),
        "comments_by_resource" => query.bind(some_resource).bind("").bind(21_i64),
        "comments_by_resource_ranked" => query.bind(some_resource).bind("").bind(21_i64).bind(true),
        "moderation_log_page" => query.bind(i64::MAX).bind(21_i64),
        "flag_queue_page" => query.bind(-3_i32).bind(0_i64).bind(21_i64),
        "profile_by_username" => query.bind("user42"),
        "account_by_id"
        | "followed_tags_by_user"
        | "followed_users_by_user"
        | "hidden_tags_by_user"
        | "email_by_user" => query.bind(some_user),
        // The export reads each of these once, with one more than its bound.
        "resources_by_author"
        | "comments_by_author"
        | "votes_by_user"
        | "comment_votes_by_user"
        | "flags_by_user"
        | "bookmark_entries_by_user"
        | "sessions_by_user" => query.bind(some_user).bind(10_001_i64),
        "open_sessions_by_user" => query
            .bind(some_user)
            .bind(chrono::Utc::now())
            .bind(1_000_i64),
        "credentials_by_login" => query.bind("user42"),
        "access_by_session" => query.bind(some_resource),
        "user_id_by_username" => query.bind("user42"),
        "projection_checkpoint" => query.bind("resources"),
        "long_running_queries" => query.bind(5.0_f64),
        "dead_letters_page" => query.bind("resources").bind(100_i64).bind(100_i64),
        "resource_history_newest" => query.bind(some_resource).bind(i64::MAX).bind(21_i64),
        "resource_history_oldest" => query.bind(some_resource).bind(0_i64).bind(21_i64),
        "site_by_name" => query.bind("site42.example"),
        "resources_by_site" => query.bind("site42.example").bind(i64::MAX).bind(21_i64),
        "notifications_newest" => query.bind(some_user).bind(i64::MAX).bind(21_i64),
        "notifications_after" => query.bind(some_user).bind(0_i64).bind(100_i64),
        "notifications_unread_count" => query.bind(some_user),
        "projection_checkpoints" | "ping" => query,
        other => panic!("no sample arguments for the named query {other}: add them here"),
    }
}

/// Every (node type, relation) in a JSON plan.
fn scans(plan: &Value, found: &mut Vec<(String, String)>) {
    if let Some(node) = plan.as_object() {
        if let (Some(kind), Some(relation)) = (node.get("Node Type"), node.get("Relation Name")) {
            found.push((
                kind.as_str().unwrap_or_default().to_owned(),
                relation.as_str().unwrap_or_default().to_owned(),
            ));
        }
        node.values().for_each(|v| scans(v, found));
    } else if let Some(items) = plan.as_array() {
        items.iter().for_each(|v| scans(v, found));
    }
}

/// Votes, which only this test reads: each seeded resource has one, from
/// users spread over the seed (the projector batches of `batch_plans` vote
/// on a seed of their own).
async fn seed_votes(pool: &PgPool) {
    for statement in [
        format!(
            "INSERT INTO resource_votes (resource_id, user_id, voted_at)
             SELECT md5('r' || i)::uuid, md5('u' || (i * 7 % {USERS} + 1))::uuid, now()
             FROM generate_series(1, {RESOURCES}) AS i"
        ),
        "ANALYZE resource_votes".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn no_named_query_scans_a_read_model_table(pool: PgPool) {
    seed(&pool).await;
    seed_votes(&pool).await;
    let read_tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/readmodel/queries");
    let mut checked = Vec::new();
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        // sqlx's `"column!"` type overrides are not SQL; drop them for EXPLAIN.
        let sql = std::fs::read_to_string(&path).unwrap().replace("!\"", "\"");
        let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
        let row = bind(&name, sqlx::query(sqlx::AssertSqlSafe(explain)))
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN {name}: {e}"));
        let plan: Value = row.get(0);
        let mut found = Vec::new();
        scans(&plan, &mut found);
        for (kind, relation) in found {
            if kind == "Seq Scan"
                && read_tables.contains(&relation)
                && !BOUNDED_TABLES.contains(&relation.as_str())
            {
                offenders.push(format!("{name}: {kind} on {relation}\n{plan:#}"));
            }
        }
        checked.push(name);
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n\n"));
    for expected in [
        "resource_by_id",
        "resources_newest",
        "resources_top",
        "resources_hot",
        "resources_search",
        "resources_hot_in_scopes",
        "news_sources_due",
        "news_sources_page",
        "credentials_by_login",
        "access_by_session",
        // A member's own data (the export, the sessions list).
        "email_by_user",
        "resources_by_author",
        "comments_by_author",
        "votes_by_user",
        "comment_votes_by_user",
        "bookmark_entries_by_user",
        "sessions_by_user",
        "open_sessions_by_user",
        // A resource's history, a site's page and count.
        "resource_history_newest",
        "resource_history_oldest",
        "site_by_name",
        "resources_by_site",
        // One's inbox, its stream and its unread count.
        "notifications_newest",
        "notifications_after",
        "notifications_unread_count",
        // Threads in their orders, and the karma on profiles.
        "comments_by_resource",
        "comments_by_resource_ranked",
        "comment_by_id",
        "profile_by_username",
        "account_by_id",
        // The moderation queue, and the karma a flag asks.
        "flag_queue_page",
        "flags_by_user",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not checked: {checked:?}"
        );
    }
}
