//! The application layer: one service per feature (accounts, sessions,
//! follows, one's own data, resources, comments, moderation, news, changes,
//! status), each
//! owning its commands (validate → load → decide → append) and its queries
//! (wait for a position → named read query → cached rendering), over a
//! shared core (`core/`). Each HTTP handler makes one call into these
//! services and nothing else.

mod access;
mod accounts;
mod changes;
mod comments;
mod core;
mod credentials;
mod cursor;
mod error;
mod flags;
mod follows;
mod hashing;
mod hidden_tags;
mod keys;
mod metric_families;
mod moderation;
mod my_data;
mod news;
mod notifications;
mod paging;
mod positions;
mod replicas;
mod resources;
mod sessions;
mod settings;
mod sites;
mod status;
mod views;

use futures::StreamExt;
use resourcify_fetch_guard::AllowList;
use resourcify_readmodel::ViewNotice;

pub use accounts::{Account, Accounts, Registered};

/// How long a request waits for Postgres before it gives up (a read answers
/// 503, an access check falls back to what the node follows from the log):
/// an outage shows within a second, never as a hang.
pub const READ_WITHIN: std::time::Duration = std::time::Duration::from_millis(750);
pub use changes::{ChangeKind, ChangeNotice, Changes, ResourceChange};
pub use comments::{Comments, ThreadOrder};
pub use core::{Backends, CommandMeta, CommandOutcome};
pub use credentials::{AccessToken, AuthenticatedUser, Passwords, Tokens};
pub use cursor::{CURSOR_PATTERN, Cursor};
pub use error::AppError;
pub use flags::Flags;
pub use follows::Follows;
pub use hidden_tags::{MAX_ROUNDS as HIDDEN_TAGS_MAX_ROUNDS, TagFilters};
pub use keys::{MIN_SECRET_BYTES, TokenSecret};
pub use metric_families::{METRIC_FAMILIES, describe_metrics};
pub use moderation::Moderation;
pub use my_data::{EXPORT_LIMIT_PER_KIND, MemberData, MyData};
pub use news::{News, NewsQuery, SYNDICATION_ENTRIES};
pub use notifications::{Notifications, StreamTicket};
pub use paging::{Page, PageRequest, ResourcePage};
pub use positions::ViewPositions;
pub use replicas::{ReadReplicas, ReplicaSettings, ReplicaState, ViewSource};
pub use resources::{HistoryEntry, HistoryOrder, ResourceQuery, Resources, Sort};
pub use resourcify_readmodel::{
    AccountRow, AuthoredComment, BookmarkRow, CommentRow, CommentVoteRow, FlagQueueEntry,
    FollowedUser, ModerationEntry, NewsSourceRow, NotificationRow, ProfileRow, ResourceRow,
    SessionRow, TagCount, VoteRow,
};
pub use sessions::{LoginAccount, LoginFailures, OPEN_SESSIONS_LIMIT, SessionTokens, Sessions};
pub use settings::AppSettings;
pub use sites::{SitePage, Sites};
pub use status::{ProjectionStatus, Readiness, Status, projection_statuses};
pub use views::{CacheOutcome, RenderedView};

/// The application: one service per feature, built once per node over a
/// shared core. A request handler holds the services it calls.
#[derive(Debug, Clone)]
pub struct App {
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub follows: Follows,
    pub tag_filters: TagFilters,
    pub my_data: MyData,
    pub resources: Resources,
    pub comments: Comments,
    pub moderation: Moderation,
    pub flags: Flags,
    pub news: News,
    pub sites: Sites,
    pub notifications: Notifications,
    pub changes: Changes,
    pub status: Status,
    core: core::Core,
}

impl App {
    /// `news_allow_hosts`: hosts exempt from the news fetcher's address
    /// guard, so that a source the fetcher would refuse is refused up front.
    pub fn new(backends: Backends, settings: AppSettings, news_allow_hosts: AllowList) -> Self {
        let tokens = Tokens::new(
            &settings.token_secret,
            settings.previous_token_secret.as_ref(),
            settings.token_ttl,
        );
        let core = core::Core::new(backends, settings);
        let resources = Resources::new(core.clone());
        Self {
            accounts: Accounts::new(core.clone()),
            sessions: Sessions::new(core.clone(), tokens),
            follows: Follows::new(core.clone()),
            tag_filters: TagFilters::new(core.clone()),
            my_data: MyData::new(core.clone()),
            news: News::new(core.clone(), resources.clone(), news_allow_hosts),
            resources,
            comments: Comments::new(core.clone()),
            sites: Sites::new(core.clone()),
            notifications: Notifications::new(core.clone()),
            moderation: Moderation::new(core.clone()),
            flags: Flags::new(core.clone()),
            changes: Changes::new(core.clone()),
            status: Status::new(core.clone()),
            core,
        }
    }

    /// Applies a projector's notice: wakes waiters and drops changed views.
    pub fn observe(&self, notice: &ViewNotice) {
        self.core.positions().observe(notice);
        self.core.views().invalidate(notice);
        self.notifications.observe(notice);
    }

    /// Listens to every projection's notices until the subscription ends;
    /// run it once per API node.
    pub async fn follow_view_notices(
        self,
        nats: async_nats::Client,
    ) -> Result<(), async_nats::SubscribeError> {
        let subject = self.core.store().namespace().all_view_notices_subject();
        let mut notices = nats.subscribe(subject).await?;
        while let Some(message) = notices.next().await {
            match serde_json::from_slice::<ViewNotice>(&message.payload) {
                Ok(notice) => self.observe(&notice),
                Err(error) => tracing::warn!(%error, "ignoring malformed view notice"),
            }
        }
        Ok(())
    }
}
