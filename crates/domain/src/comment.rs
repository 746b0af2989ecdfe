//! The comment aggregate: a comment on a resource, possibly a reply to
//! another comment of the same resource.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::event_set;
use crate::resource::Resource;
use crate::validation::plain_text;
use crate::{Actor, Aggregate, DomainError};

const BODY_MAX_CHARS: usize = 10_000;

/// A comment's text: 1 to 10,000 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let body = plain_text(raw, BODY_MAX_CHARS, true)?;
        if body.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Self(body))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// A command lives for one request and is never stored; boxing the loaded
// states would only add allocations.
#[expect(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CommentCommand {
    /// `resource` is the commented resource's state; `parent` the state of
    /// the comment replied to, both loaded by the caller.
    Post {
        comment_id: Uuid,
        actor: Actor,
        resource: Resource,
        parent: Option<Comment>,
        body: CommentBody,
        at: DateTime<Utc>,
    },
    Edit {
        actor: Actor,
        body: CommentBody,
        at: DateTime<Utc>,
    },
    /// The author takes their comment down.
    Delete { actor: Actor, at: DateTime<Utc> },
    /// A moderator takes a comment down.
    Remove {
        actor: Actor,
        reason: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentPosted {
    pub comment_id: Uuid,
    pub resource_id: Uuid,
    /// The comment this one replies to; absent for a top-level comment.
    pub parent_id: Option<Uuid>,
    pub author_id: Uuid,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentEdited {
    pub comment_id: Uuid,
    pub resource_id: Uuid,
    /// Whose key seals the body. Absent in edits written before sealing
    /// (version 1), which held the body in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<Uuid>,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentDeleted {
    pub comment_id: Uuid,
    pub resource_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentRemoved {
    pub comment_id: Uuid,
    pub resource_id: Uuid,
    pub reason: String,
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CommentEvent {
    Posted(CommentPosted),
    Edited(CommentEdited),
    Deleted(CommentDeleted),
    Removed(CommentRemoved),
}

event_set!(CommentEvent {
    Posted => COMMENT_POSTED,
    Edited => COMMENT_EDITED,
    Deleted => COMMENT_DELETED,
    Removed => COMMENT_REMOVED,
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comment {
    pub id: Option<Uuid>,
    pub resource_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    /// Deleted by its author or removed by a moderator.
    pub gone: bool,
}

impl Comment {
    /// The comment's id, unless it does not exist or is gone.
    pub(crate) fn live(&self) -> Result<Uuid, DomainError> {
        match self.id {
            Some(id) if !self.gone => Ok(id),
            _ => Err(DomainError::NotFound("comment")),
        }
    }

    fn authored_by(&self, actor: &Actor) -> Result<Uuid, DomainError> {
        let id = self.live()?;
        actor.ensure_active()?;
        if actor.user_id != self.author_id {
            return Err(DomainError::Forbidden(
                "only the author may change a comment",
            ));
        }
        Ok(id)
    }
}

impl Aggregate for Comment {
    const NAME: &'static str = "comment";
    type Command = CommentCommand;
    type Event = CommentEvent;

    fn decide(&self, command: &CommentCommand) -> Result<Vec<CommentEvent>, DomainError> {
        let event = match command {
            CommentCommand::Post {
                comment_id,
                actor,
                resource,
                parent,
                body,
                at,
            } => {
                let resource_id = resource.visible_to(actor)?;
                actor.ensure_active()?;
                if self.id.is_some() {
                    return Err(DomainError::AlreadyExists {
                        aggregate: "comment",
                        id: comment_id.to_string(),
                    });
                }
                let parent_id = match parent {
                    Some(parent) => {
                        let parent_id = parent.live()?;
                        if parent.resource_id != resource_id {
                            return Err(DomainError::NotFound("comment"));
                        }
                        Some(parent_id)
                    }
                    None => None,
                };
                CommentEvent::Posted(CommentPosted {
                    comment_id: *comment_id,
                    resource_id,
                    parent_id,
                    author_id: actor.user_id,
                    body: body.as_str().to_owned(),
                    at: *at,
                })
            }
            CommentCommand::Edit { actor, body, at } => {
                let comment_id = self.authored_by(actor)?;
                if body.as_str() == self.body {
                    return Ok(vec![]);
                }
                CommentEvent::Edited(CommentEdited {
                    comment_id,
                    resource_id: self.resource_id,
                    author_id: Some(self.author_id),
                    body: body.as_str().to_owned(),
                    at: *at,
                })
            }
            CommentCommand::Delete { actor, at } => CommentEvent::Deleted(CommentDeleted {
                comment_id: self.authored_by(actor)?,
                resource_id: self.resource_id,
                at: *at,
            }),
            CommentCommand::Remove { actor, reason, at } => {
                actor.ensure_moderator()?;
                CommentEvent::Removed(CommentRemoved {
                    comment_id: self.live()?,
                    resource_id: self.resource_id,
                    reason: reason.clone(),
                    moderator_id: actor.recorded_id(),
                    at: *at,
                })
            }
        };
        Ok(vec![event])
    }

    fn evolve(mut self, event: &CommentEvent) -> Self {
        match event {
            CommentEvent::Posted(e) => {
                self.id = Some(e.comment_id);
                self.resource_id = e.resource_id;
                self.author_id = e.author_id;
                self.body = e.body.clone();
            }
            CommentEvent::Edited(e) => self.body = e.body.clone(),
            CommentEvent::Deleted(_) | CommentEvent::Removed(_) => self.gone = true,
        }
        self
    }
}
