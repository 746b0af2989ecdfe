//! The notice a projector publishes after each committed batch.

use serde::{Deserialize, Serialize};

/// "Projection P now includes everything up to position N; these keys changed."
/// API nodes use it to wake read-your-writes waiters and drop cache entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewNotice {
    pub projection: String,
    pub position: u64,
    #[serde(default)]
    pub keys: Vec<String>,
}
