//! The tag-filter aggregate: the tags a member does not want to see. Their
//! front page, lists and personal feed leave out every resource carrying
//! one of them.
//!
//! One aggregate per member, apart from the user aggregate: hiding a tag
//! never contends with a change of profile or standing, and the rule it
//! keeps (at most [`MAX_HIDDEN_TAGS`]) needs nothing else. Hiding is a
//! reading preference, so a suspended member may still change it.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::event_set;
use crate::resource::Tag;
use crate::{Actor, Aggregate, DomainError};

/// How many tags one member may hide. Every list a member reads is filtered
/// against all of them, row by row, so the set stays small; a member who
/// wants to see only a few topics follows those instead.
pub const MAX_HIDDEN_TAGS: usize = 100;

/// Commands on a member's filter; the aggregate's id is the member's user id.
#[derive(Debug, Clone)]
pub enum TagFilterCommand {
    Hide {
        actor: Actor,
        tag: Tag,
        at: DateTime<Utc>,
    },
    Unhide {
        actor: Actor,
        tag: Tag,
        at: DateTime<Utc>,
    },
}

/// A member hid a tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagHidden {
    pub user_id: Uuid,
    pub tag: String,
    pub at: DateTime<Utc>,
}

/// A member showed a tag they had hidden again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagUnhidden {
    pub user_id: Uuid,
    pub tag: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TagFilterEvent {
    Hidden(TagHidden),
    Unhidden(TagUnhidden),
}

event_set!(TagFilterEvent {
    Hidden => TAG_FILTER_TAG_HIDDEN,
    Unhidden => TAG_FILTER_TAG_UNHIDDEN,
});

/// The tags one member hides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagFilter {
    pub hidden: BTreeSet<String>,
}

impl Aggregate for TagFilter {
    const NAME: &'static str = "tag-filter";
    type Command = TagFilterCommand;
    type Event = TagFilterEvent;

    /// The command's target is the actor's own filter: the caller runs it
    /// on the aggregate whose id is the actor's user id.
    fn decide(&self, command: &TagFilterCommand) -> Result<Vec<TagFilterEvent>, DomainError> {
        let (TagFilterCommand::Hide { actor, tag, at }
        | TagFilterCommand::Unhide { actor, tag, at }) = command;
        let (user_id, tag, at) = (actor.user_id, tag.as_str().to_owned(), *at);
        let hidden = self.hidden.contains(&tag);
        Ok(match command {
            TagFilterCommand::Hide { .. } if hidden => Vec::new(),
            TagFilterCommand::Hide { .. } => {
                if self.hidden.len() >= MAX_HIDDEN_TAGS {
                    return Err(DomainError::Conflict(
                        "you hide as many tags as one may (100); show some again first",
                    ));
                }
                vec![TagFilterEvent::Hidden(TagHidden { user_id, tag, at })]
            }
            TagFilterCommand::Unhide { .. } if !hidden => Vec::new(),
            TagFilterCommand::Unhide { .. } => {
                vec![TagFilterEvent::Unhidden(TagUnhidden { user_id, tag, at })]
            }
        })
    }

    fn evolve(mut self, event: &TagFilterEvent) -> Self {
        match event {
            TagFilterEvent::Hidden(e) => self.hidden.insert(e.tag.clone()),
            TagFilterEvent::Unhidden(e) => self.hidden.remove(&e.tag),
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: Uuid = Uuid::from_u128(1);

    fn hide(tag: &str) -> TagFilterCommand {
        TagFilterCommand::Hide {
            actor: Actor::member(MEMBER),
            tag: Tag::parse(tag).unwrap(),
            at: DateTime::UNIX_EPOCH,
        }
    }

    fn unhide(tag: &str) -> TagFilterCommand {
        TagFilterCommand::Unhide {
            actor: Actor::member(MEMBER),
            tag: Tag::parse(tag).unwrap(),
            at: DateTime::UNIX_EPOCH,
        }
    }

    /// The filter after `commands`, and the events of the last one.
    fn run(commands: &[TagFilterCommand]) -> (TagFilter, Vec<TagFilterEvent>) {
        let mut state = TagFilter::default();
        let mut last = Vec::new();
        for command in commands {
            last = state.decide(command).unwrap();
            state = last.iter().fold(state, |s, e| s.evolve(e));
        }
        (state, last)
    }

    #[test]
    fn hiding_and_showing_again_are_each_recorded_once() {
        let (filter, events) = run(&[hide("crypto")]);
        assert!(filter.hidden.contains("crypto"));
        assert!(matches!(events.as_slice(), [TagFilterEvent::Hidden(e)] if e.user_id == MEMBER));
        assert!(run(&[hide("crypto"), hide("crypto")]).1.is_empty());
        let (filter, events) = run(&[hide("crypto"), unhide("crypto")]);
        assert!(filter.hidden.is_empty());
        assert!(matches!(events.as_slice(), [TagFilterEvent::Unhidden(_)]));
        assert!(run(&[unhide("crypto")]).1.is_empty());
    }

    #[test]
    fn a_member_hides_at_most_the_limit() {
        let filter = TagFilter {
            hidden: (0..MAX_HIDDEN_TAGS).map(|n| format!("tag{n}")).collect(),
        };
        let refused = filter.decide(&hide("one-more"));
        assert!(
            matches!(refused, Err(DomainError::Conflict(_))),
            "{refused:?}"
        );
        assert_eq!(filter.decide(&unhide("tag1")).unwrap().len(), 1);
    }
}
