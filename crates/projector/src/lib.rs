//! The projector engine: reads the event log from the projections'
//! checkpoints, applies it in batches (rows and checkpoint in one transaction), parks
//! what cannot be applied as dead letters, and announces each commit; and
//! replays a projection into new tables beside the live ones.

mod dead_letters;
mod engine;
mod leadership;
mod live;
mod metric_families;
mod replay;
mod retry;

pub use dead_letters::{RetryOutcome, retry_dead_letter, skip_dead_letter};
pub use engine::{BatchOutcome, apply_batch, apply_batch_with};
pub use leadership::{LEASE_LIFETIME, run_when_leading};
pub use live::{ProjectorSettings, Projectors};
pub use metric_families::{METRIC_FAMILIES, describe_metrics};
pub use replay::{
    ReplayError, ReplayPace, ReplayProgress, ReplayReport, ReplaySettings, replay, replay_all,
};
pub use resourcify_readmodel::projections::Projection;
