//! Karma: what the votes a member's contributions received let them do.
//!
//! A member's karma is the upvotes their resources hold plus the upvotes
//! less the downvotes their comments hold. A withdrawn vote no longer
//! counts; a vote on something later deleted, retracted, hidden or removed
//! still does (what others gave is not taken back, and taking one's own
//! old content down costs nothing). The read model keeps the sum as votes
//! come and go; this module holds what it allows.

/// The karma a member needs to flag content, unless the operator says
/// otherwise (`RESOURCIFY_MIN_KARMA_TO_FLAG`).
pub const DEFAULT_MIN_KARMA_TO_FLAG: i64 = 5;

/// What karma allows, as the operator set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KarmaRules {
    /// The least karma with which a member may flag content.
    pub min_karma_to_flag: i64,
}

impl Default for KarmaRules {
    fn default() -> Self {
        Self {
            min_karma_to_flag: DEFAULT_MIN_KARMA_TO_FLAG,
        }
    }
}

impl KarmaRules {
    /// Whether a member with `karma` may flag content: the one rule flags
    /// ask (before the command, from the karma as projected), so that the
    /// threshold lives here only.
    pub fn can_flag(&self, karma: i64) -> bool {
        karma >= self.min_karma_to_flag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagging_takes_the_configured_karma() {
        let rules = KarmaRules::default();
        assert!(!rules.can_flag(-3));
        assert!(!rules.can_flag(DEFAULT_MIN_KARMA_TO_FLAG - 1));
        assert!(rules.can_flag(DEFAULT_MIN_KARMA_TO_FLAG));
        assert!(rules.can_flag(1_000));
        let open = KarmaRules {
            min_karma_to_flag: 0,
        };
        assert!(open.can_flag(0));
        assert!(!open.can_flag(-1));
    }
}
