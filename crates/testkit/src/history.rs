//! A synthetic history for tests and benchmarks that need a log of many
//! events without going through the API: members, their resources, and
//! votes on them, appended as the command side would append them.

use chrono::Utc;
use futures::StreamExt;
use resourcify_domain::DomainEvent;
use resourcify_domain::resource::{ResourceEvent, ResourceKind, ResourceSubmitted};
use resourcify_domain::user::{UserEvent, UserRegistered};
use resourcify_domain::vote::{VoteCast, VoteEvent, vote_id};
use resourcify_eventstore::{EventStore, NewEvent};
use uuid::Uuid;

/// How many of each, and what the resources look like. The members submit
/// the resources in turn, and each vote is by a member other than the
/// resource's author, so the history is one the domain would have allowed.
#[derive(Debug, Clone)]
pub struct SyntheticHistory {
    pub users: usize,
    pub resources: usize,
    pub votes: usize,
    /// The first path segment of every resource URL, so that two histories
    /// never claim one URL.
    pub site: &'static str,
    pub description: &'static str,
    /// The tags of the `i`th resource.
    pub tags: fn(usize) -> Vec<String>,
    /// Appends in flight at once.
    pub concurrency: usize,
}

impl SyntheticHistory {
    /// `users` members, `resources` resources with no description and one
    /// of 40 tags each, and `votes` votes, under `https://example.org/{site}/`.
    pub fn new(users: usize, resources: usize, votes: usize, site: &'static str) -> Self {
        Self {
            users,
            resources,
            votes,
            site,
            description: "",
            tags: |i| vec![format!("t{}", i % 40)],
            concurrency: 256,
        }
    }
}

/// An event as the command side appends it, with a message id of its own.
pub fn new_event(event: DomainEvent) -> NewEvent {
    NewEvent {
        event,
        msg_id: Uuid::new_v4().to_string(),
        request_id: None,
        time: Utc::now(),
    }
}

type Append = (&'static str, Uuid, NewEvent);

impl SyntheticHistory {
    /// Every event of the history.
    pub fn len(&self) -> usize {
        self.users + self.resources + self.votes
    }

    /// Whether the history has no event at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the registrations, then the submissions, then the votes:
    /// each phase once the one before is in the log, so that no view sees
    /// a vote before its resource.
    pub async fn append(&self, store: &EventStore) -> anyhow::Result<()> {
        let users: Vec<Uuid> = (0..self.users).map(|_| Uuid::now_v7()).collect();
        let resources: Vec<Uuid> = (0..self.resources).map(|_| Uuid::now_v7()).collect();
        for phase in [
            self.registrations(&users),
            self.submissions(&users, &resources),
            self.votes(&users, &resources),
        ] {
            let mut appends = futures::stream::iter(phase)
                .map(|(aggregate, id, event)| store.append(aggregate, id, 0, event))
                .buffer_unordered(self.concurrency);
            while let Some(appended) = appends.next().await {
                appended?;
            }
        }
        Ok(())
    }

    fn registrations(&self, users: &[Uuid]) -> Vec<Append> {
        let registration = |(i, &id): (usize, &Uuid)| {
            let event = UserEvent::Registered(UserRegistered {
                user_id: id,
                username: format!("user{i}"),
                email: format!("user{i}@example.org"),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                registered_at: Utc::now(),
            });
            ("user", id, new_event(DomainEvent::User(event)))
        };
        users.iter().enumerate().map(registration).collect()
    }

    fn submissions(&self, users: &[Uuid], resources: &[Uuid]) -> Vec<Append> {
        let submission = |(i, &id): (usize, &Uuid)| {
            let author = users[i % users.len()];
            ("resource", id, self.submission(i, id, author))
        };
        resources.iter().enumerate().map(submission).collect()
    }

    /// The submission of the history's `i`th resource, `id`, by `author`:
    /// the first event of the resource's stream.
    pub fn submission(&self, i: usize, id: Uuid, author: Uuid) -> NewEvent {
        let url = format!("https://example.org/{}/{i}", self.site);
        let event = ResourceSubmitted {
            resource_id: id,
            author_id: author,
            title: format!("Resource {i}"),
            canonical_url: url.clone(),
            url,
            description: self.description.to_owned(),
            tags: (self.tags)(i),
            kind: ResourceKind::ALL[i % ResourceKind::ALL.len()],
            submitted_at: Utc::now(),
        };
        new_event(DomainEvent::Resource(ResourceEvent::Submitted(event)))
    }

    fn votes(&self, users: &[Uuid], resources: &[Uuid]) -> Vec<Append> {
        let vote = |i: usize| {
            let resource = i % resources.len();
            let author = resource % users.len();
            // The members after the author, in turn: never the author.
            let voter = users[(author + 1 + i / resources.len()) % users.len()];
            let event = VoteEvent::Cast(VoteCast {
                resource_id: resources[resource],
                user_id: voter,
                at: Utc::now(),
            });
            let id = vote_id(resources[resource], voter);
            ("vote", id, new_event(DomainEvent::Vote(event)))
        };
        (0..self.votes).map(vote).collect()
    }
}
