//! The only code that knows the read tables: the migrator, the named read
//! queries (one `.sql` file each under `queries/`), the rows they return, and
//! the set-based writes each projection applies in its transaction.

mod batch_plans;
mod checkpoint;
mod dead_letters;
mod error;
mod instrument;
mod metric_families;
mod notice;
mod pool;
pub mod projections;
mod queries;
pub mod replay;
mod rows;
mod scope;

pub use batch_plans::plan_batch;
pub use checkpoint::{lock_checkpoint, save_checkpoint};
pub use dead_letters::{
    DeadLetter, DeadLetterRow, lock_dead_letter, record_dead_letter, remove_dead_letter,
};
pub use error::{PgFailure, ReadModelError};
pub use metric_families::{METRIC_FAMILIES, describe_metrics};
pub use notice::ViewNotice;
pub use pool::{PoolSettings, connect, connect_lazy};
pub use queries::{CheckpointRow, ReadModel, RunningQuery};
pub use rows::{
    AccountRow, AuthoredComment, BookmarkRow, CommentRow, CommentVoteRow, Credentials, DueSource,
    FlagQueueEntry, FlagRow, FollowedUser, ModerationEntry, NewsSourceRow, NotificationRow,
    ProfileRow, ResourceRow, RevisionRow, SessionAccess, SessionRow, SiteRow, TagCount, VoteRow,
};
pub use scope::Scope;

/// Every migration under `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
