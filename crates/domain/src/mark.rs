//! What votes and bookmarks share: each is one member's mark on one
//! resource, an aggregate of its own per (member, resource) pair, so that
//! marks by different members never contend for one subject and "one per
//! member" is the pair's own consistency rule.

use uuid::Uuid;

/// The id of the pair (`first`, `second`)'s mark among the marks of one
/// kind (`kind`): derived from the pair, so that it always finds its
/// aggregate.
pub(crate) fn pair_id(kind: &Uuid, first: Uuid, second: Uuid) -> Uuid {
    let mut name = [0u8; 32];
    name[..16].copy_from_slice(first.as_bytes());
    name[16..].copy_from_slice(second.as_bytes());
    Uuid::new_v5(kind, &name)
}

/// The events that turn a mark that is `active` on (`on`) or off: none
/// when it is so already, since marking twice is no mistake, else `event`.
pub(crate) fn turn<E>(active: bool, on: bool, event: E) -> Vec<E> {
    if active == on {
        Vec::new()
    } else {
        vec![event]
    }
}
