//! The projections: each owns its tables and turns a batch of events into
//! set-based writes. The projector engine decides when; this decides what.

mod bookmarks;
mod comments;
mod flags;
mod history;
mod news;
mod notifications;
mod resources;
mod sites;
mod users;

use resourcify_domain::{DomainEvent, EventType};
use serde_json::Value;
use sqlx::PgConnection;

/// How a projection keeps its derived rows: those it computes from its own
/// base rows (the resources projection's vote counts, lists and tag
/// counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Upkeep {
    /// Batch by batch, so the views are right after every commit.
    #[default]
    Incremental,
    /// Not at all; [`Projection::derive`] computes them once, in bulk. A
    /// replay does this while nobody reads its tables: one pass over a
    /// million resources costs far less than rewriting their list rows on
    /// every submission and vote.
    Deferred,
}

/// An event with its stream position, as a projection receives it.
#[derive(Debug, Clone, Copy)]
pub struct Positioned<'a> {
    pub position: u64,
    pub event: &'a DomainEvent,
}

/// A kind of rendered view an API node keeps in memory (ADR 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachedView {
    /// One resource, by id: the keys of a notice name the ids.
    ResourceById,
    /// Pages of public lists of resources (lists, feed, tags, search, news,
    /// syndication): any changed resource may move in, out of or within any.
    ResourceLists,
    /// Pages of comment threads.
    CommentThreads,
    /// Pages of resources' edit histories.
    ResourceHistories,
    /// Members' inboxes: the keys of a notice name the members.
    Inboxes,
}

/// Every projection the platform runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Credentials, sessions and standing (for login and every access
    /// check), profiles and follows.
    Users,
    /// Resources, their authors, lists, tags and votes, the karma those
    /// votes earn, and the moderation log.
    Resources,
    /// Threaded comments, the votes on them, and the karma they earn.
    Comments,
    /// Each user's bookmarks.
    Bookmarks,
    /// News sources and their polling state (news items are resources).
    News,
    /// Every revision of every resource, and who made it.
    History,
    /// Each resource's site, and each site's count of resources.
    Sites,
    /// Open flags on resources and comments, and the moderation queue.
    Flags,
    /// Each member's inbox: replies, comments, mentions, moderation.
    Notifications,
}

impl Projection {
    pub const ALL: [Self; 9] = [
        Self::Users,
        Self::Resources,
        Self::Comments,
        Self::Bookmarks,
        Self::News,
        Self::History,
        Self::Sites,
        Self::Flags,
        Self::Notifications,
    ];

    /// The name used for its checkpoint, dead letters and notices.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Resources => "resources",
            Self::Comments => "comments",
            Self::Bookmarks => "bookmarks",
            Self::News => "news",
            Self::History => "history",
            Self::Sites => "sites",
            Self::Flags => "flags",
            Self::Notifications => "notifications",
        }
    }

    /// The tables this projection alone writes: what a replay rebuilds.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Users => &[
                "user_credentials",
                "user_access",
                "sessions",
                "user_profiles",
                "followed_tags",
                "followed_users",
                "hidden_tags",
            ],
            Self::Resources => &[
                "resource_authors",
                "resources",
                "resource_votes",
                "resource_vote_counts",
                "resource_listings",
                "tag_counts",
                "moderation_log",
                "resource_karma",
            ],
            Self::Comments => &["comments", "comment_votes", "comment_karma"],
            Self::Bookmarks => &["bookmarks"],
            Self::News => &["news_sources"],
            Self::History => &["resource_revisions", "revision_editors"],
            Self::Sites => &["site_resources", "site_counts"],
            Self::Flags => &["flags", "flag_queue"],
            Self::Notifications => &[
                "notification_members",
                "notification_resources",
                "notification_comments",
                "notifications",
            ],
        }
    }

    /// Tables computed wholly from the projection's other tables (see
    /// [`Upkeep::Deferred`]): a replay fills them in one statement at the
    /// end and only then indexes them.
    pub fn derived_tables(self) -> &'static [&'static str] {
        match self {
            Self::Resources => &[
                "resource_vote_counts",
                "resource_listings",
                "tag_counts",
                "resource_karma",
            ],
            Self::Users
            | Self::Comments
            | Self::Bookmarks
            | Self::News
            | Self::History
            | Self::Sites
            | Self::Flags
            | Self::Notifications => &[],
        }
    }

    /// Indexes only reads use: a replay builds them once, at the end,
    /// instead of keeping them up to date row by row. Every other index
    /// serves the projection's own writes and exists from the start. (The
    /// unique index on `resources.listed_at` only guards what positions
    /// guarantee: one resource per position.)
    pub fn read_only_indexes(self) -> &'static [&'static str] {
        match self {
            Self::Resources => &[
                "resource_listings_top",
                "resource_listings_hot",
                "resources_listed_at_key",
                "resources_search",
                "tag_counts_by_count",
                "resource_votes_by_user",
            ],
            Self::News => &["news_sources_newest"],
            Self::Comments => &["comments_by_author", "comment_votes_by_user"],
            Self::Sites => &["site_resources_newest"],
            Self::Flags => &["flag_queue_most_flagged", "flags_by_user"],
            // `sessions_by_user` serves the erasure of a member's sessions too.
            // History pages and inboxes are index ranges of the primary key.
            Self::Users | Self::Bookmarks | Self::History | Self::Notifications => &[],
        }
    }

    /// The event type names (`EventType::name`) this projection reads. Other
    /// events only advance its checkpoint; they are not even decoded.
    pub fn reads(self) -> &'static [&'static str] {
        match self {
            Self::Users => &[
                EventType::USER_REGISTERED.name,
                EventType::USER_PROFILE_UPDATED.name,
                EventType::USER_PASSWORD_CHANGED.name,
                EventType::USER_TAG_FOLLOWED.name,
                EventType::USER_TAG_UNFOLLOWED.name,
                EventType::USER_USER_FOLLOWED.name,
                EventType::USER_USER_UNFOLLOWED.name,
                EventType::USER_ROLE_GRANTED.name,
                EventType::USER_ROLE_REVOKED.name,
                EventType::USER_SUSPENDED.name,
                EventType::USER_REINSTATED.name,
                EventType::USER_DELETED.name,
                EventType::USER_SESSIONS_REVOKED.name,
                EventType::SESSION_STARTED.name,
                EventType::SESSION_REFRESHED.name,
                EventType::SESSION_ENDED.name,
                EventType::TAG_FILTER_TAG_HIDDEN.name,
                EventType::TAG_FILTER_TAG_UNHIDDEN.name,
            ],
            Self::Resources => &[
                EventType::USER_REGISTERED.name,
                EventType::USER_DELETED.name,
                EventType::RESOURCE_SUBMITTED.name,
                EventType::RESOURCE_EDITED.name,
                EventType::RESOURCE_RETRACTED.name,
                EventType::RESOURCE_HIDDEN.name,
                EventType::RESOURCE_RESTORED.name,
                EventType::NEWS_ITEM_PUBLISHED.name,
                EventType::VOTE_CAST.name,
                EventType::VOTE_WITHDRAWN.name,
                EventType::COMMENT_REMOVED.name,
                EventType::FLAGS_RAISED.name,
                EventType::FLAGS_DISMISSED.name,
            ],
            Self::Comments => &[
                EventType::USER_DELETED.name,
                EventType::COMMENT_POSTED.name,
                EventType::COMMENT_EDITED.name,
                EventType::COMMENT_DELETED.name,
                EventType::COMMENT_REMOVED.name,
                EventType::COMMENT_VOTE_CAST.name,
                EventType::COMMENT_VOTE_WITHDRAWN.name,
            ],
            Self::Bookmarks => &[
                EventType::BOOKMARK_ADDED.name,
                EventType::BOOKMARK_REMOVED.name,
            ],
            Self::News => &[
                EventType::NEWS_SOURCE_ADDED.name,
                EventType::NEWS_SOURCE_UPDATED.name,
                EventType::NEWS_SOURCE_REMOVED.name,
                EventType::NEWS_SOURCE_REFRESH_REQUESTED.name,
                EventType::NEWS_SOURCE_FETCHED.name,
                EventType::NEWS_ITEM_PUBLISHED.name,
            ],
            Self::History => &[
                EventType::USER_REGISTERED.name,
                EventType::USER_DELETED.name,
                EventType::RESOURCE_SUBMITTED.name,
                EventType::RESOURCE_EDITED.name,
            ],
            Self::Sites => &[
                EventType::RESOURCE_SUBMITTED.name,
                EventType::NEWS_ITEM_PUBLISHED.name,
                EventType::RESOURCE_RETRACTED.name,
                EventType::RESOURCE_HIDDEN.name,
                EventType::RESOURCE_RESTORED.name,
                EventType::FLAGS_RAISED.name,
                EventType::FLAGS_DISMISSED.name,
            ],
            Self::Flags => &[
                EventType::FLAGS_RAISED.name,
                EventType::FLAGS_WITHDRAWN.name,
                EventType::FLAGS_DISMISSED.name,
                EventType::RESOURCE_HIDDEN.name,
                EventType::RESOURCE_RETRACTED.name,
                EventType::COMMENT_DELETED.name,
                EventType::COMMENT_REMOVED.name,
            ],
            Self::Notifications => &[
                EventType::USER_REGISTERED.name,
                EventType::USER_SUSPENDED.name,
                EventType::USER_REINSTATED.name,
                EventType::USER_DELETED.name,
                EventType::USER_NOTIFICATIONS_READ.name,
                EventType::RESOURCE_SUBMITTED.name,
                EventType::NEWS_ITEM_PUBLISHED.name,
                EventType::RESOURCE_EDITED.name,
                EventType::RESOURCE_HIDDEN.name,
                EventType::RESOURCE_RESTORED.name,
                EventType::COMMENT_POSTED.name,
                EventType::COMMENT_EDITED.name,
                EventType::COMMENT_DELETED.name,
                EventType::COMMENT_REMOVED.name,
            ],
        }
    }

    /// Whether an event with this `ce-type` header concerns the projection.
    /// An event without a readable type might, so it is not skipped.
    pub fn reads_ce_type(self, ce_type: Option<&str>) -> bool {
        match ce_type.and_then(EventType::parse_ce_type) {
            Some((name, _version)) => self.reads().contains(&name),
            None => true,
        }
    }

    /// The cached views that this projection's changed keys make stale.
    /// Declared here, beside the tables, so a new table that a cached view
    /// reads is one line away from its invalidation.
    pub fn invalidates(self) -> &'static [CachedView] {
        match self {
            Self::Resources => &[CachedView::ResourceById, CachedView::ResourceLists],
            Self::Comments => &[CachedView::CommentThreads],
            // A site's page and feed: its resources come and go.
            Self::Sites => &[CachedView::ResourceLists],
            Self::History => &[CachedView::ResourceHistories],
            // Read per request, never cached: profiles, accounts, bookmarks,
            // news sources and the moderation queue. (A hold moves
            // resources out of lists through the resources projection.)
            Self::Users | Self::Bookmarks | Self::News | Self::Flags => &[],
            Self::Notifications => &[CachedView::Inboxes],
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Applies a batch inside the caller's transaction and returns the keys
    /// (ids) whose views changed. Must be idempotent per event: the engine
    /// filters by checkpoint, and the writes ignore rows already present.
    pub async fn apply(
        self,
        tx: &mut PgConnection,
        events: &[Positioned<'_>],
    ) -> sqlx::Result<Vec<String>> {
        self.apply_with(tx, events, Upkeep::Incremental).await
    }

    /// [`Self::apply`], keeping derived rows as `upkeep` says.
    pub async fn apply_with(
        self,
        tx: &mut PgConnection,
        events: &[Positioned<'_>],
        upkeep: Upkeep,
    ) -> sqlx::Result<Vec<String>> {
        match self {
            Self::Users => apply_runs(tx, events, users::change_of, users::KEY, execute).await,
            Self::Resources => resources::apply(tx, events, upkeep).await,
            Self::Comments => {
                apply_runs(
                    tx,
                    events,
                    comments::change_of,
                    comments::KEY,
                    comments::write,
                )
                .await
            }
            Self::Bookmarks => {
                apply_runs(tx, events, bookmarks::change_of, bookmarks::KEY, execute).await
            }
            Self::News => apply_runs(tx, events, news::change_of, news::KEY, execute).await,
            Self::History => history::apply(tx, events).await,
            Self::Sites => sites::apply(tx, events).await,
            Self::Flags => flags::apply(tx, events).await,
            Self::Notifications => notifications::apply(tx, events).await,
        }
    }
}

impl Projection {
    /// Computes the derived rows from the base rows, replacing whatever
    /// was there: what [`Upkeep::Deferred`] left undone. Idempotent.
    /// Takes up to three of `pool`'s connections.
    pub async fn derive(self, pool: &sqlx::PgPool) -> sqlx::Result<()> {
        match self {
            Self::Resources => resources::derive(pool).await,
            Self::Users
            | Self::Comments
            | Self::Bookmarks
            | Self::News
            | Self::History
            | Self::Sites
            | Self::Flags
            | Self::Notifications => Ok(()),
        }
    }
}

/// Consecutive events of one kind, ready for one set-based statement.
/// Splitting a batch into runs keeps the order of changes that do not
/// commute (a vote, its withdrawal, the vote again) while most batches, all
/// of one kind, still take one statement.
#[derive(Debug)]
pub(super) struct Run<'a, K> {
    pub kind: K,
    pub events: Vec<Positioned<'a>>,
}

impl<K> Run<'_, K> {
    /// Each event's own JSON with its position added as `ord`, for
    /// `jsonb_to_recordset`: the way for the rarer events. The frequent ones
    /// bind one typed array per column and `UNNEST` them, which Postgres
    /// reads several times faster than it parses JSON.
    pub fn rows(&self) -> Value {
        Value::Array(
            self.events
                .iter()
                .map(|e| {
                    let mut row = serde_json::to_value(e.event).expect("events serialise");
                    if let Value::Object(fields) = &mut row {
                        fields.insert("ord".into(), e.position.into());
                    }
                    row
                })
                .collect(),
        )
    }
}

/// The values of `field` in `rows` (see [`Run::rows`]), as strings: the
/// keys of a notice.
pub(super) fn keys(rows: &Value, field: &str) -> Vec<String> {
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| row.get(field)?.as_str().map(str::to_owned))
        .collect()
}

/// Applies `events` run by run (see [`runs`]) with `write`, one statement
/// a run, as every projection but the resources one does; answers the
/// keys of the notice: the values of `key` in the runs' rows, and what
/// `write` found besides.
async fn apply_runs<K: Copy + PartialEq>(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    kind_of: fn(&DomainEvent) -> Option<K>,
    key: &str,
    mut write: impl AsyncFnMut(&mut PgConnection, K, Value) -> sqlx::Result<Vec<String>>,
) -> sqlx::Result<Vec<String>> {
    let mut touched = Vec::new();
    for run in runs(events, kind_of) {
        let rows = run.rows();
        touched.extend(keys(&rows, key));
        touched.extend(write(tx, run.kind, rows).await?);
    }
    Ok(touched)
}

/// Joins a resource's tags into one string for a `text[]` column, since
/// Postgres arrays cannot be ragged; SQL splits it with
/// `string_to_array(tags, chr(31))`. The unit separator cannot occur in a
/// tag (`Tag` allows `[a-z0-9+#.-]`).
pub(super) fn joined_tags(tags: &[String]) -> String {
    tags.join("\u{1f}")
}

/// An event's stream position as Postgres stores it.
pub(super) fn position(event: &Positioned<'_>) -> i64 {
    i64::try_from(event.position).expect("stream positions fit in i64")
}

/// The submissions among `events`, each with its position: what the
/// projections that start a row per resource insert.
pub(super) fn submissions<'a>(
    events: &[Positioned<'a>],
) -> Vec<(i64, &'a resourcify_domain::resource::ResourceSubmitted)> {
    events
        .iter()
        .filter_map(|e| match e.event {
            DomainEvent::Resource(resourcify_domain::resource::ResourceEvent::Submitted(s)) => {
                Some((position(e), s))
            }
            _ => None,
        })
        .collect()
}

/// A set-based statement over the rows of a run ([`Run::rows`]).
pub(super) type Statement =
    sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// A change that a projection applies with one statement a run, which
/// changes no key beyond those its rows name.
pub(super) trait RunStatement: Copy + PartialEq {
    /// The statement that applies one run of this change over its rows.
    fn statement(self, rows: Value) -> Statement;
}

/// The `write` of [`apply_runs`] for a [`RunStatement`] change.
async fn execute<K: RunStatement>(
    tx: &mut PgConnection,
    kind: K,
    rows: Value,
) -> sqlx::Result<Vec<String>> {
    kind.statement(rows).execute(&mut *tx).await?;
    Ok(Vec::new())
}

/// Splits `events` into runs by `kind_of`; events it maps to `None` are
/// not this projection's and are left out.
pub(super) fn runs<'a, K: Copy + PartialEq>(
    events: &[Positioned<'a>],
    kind_of: impl Fn(&DomainEvent) -> Option<K>,
) -> Vec<Run<'a, K>> {
    let mut runs: Vec<Run<'a, K>> = Vec::new();
    for e in events {
        let Some(kind) = kind_of(e.event) else {
            continue;
        };
        match runs.last_mut() {
            Some(last) if last.kind == kind => last.events.push(*e),
            _ => runs.push(Run {
                kind,
                events: vec![*e],
            }),
        }
    }
    runs
}
