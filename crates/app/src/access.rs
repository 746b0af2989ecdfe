//! Who may do what, per session, as this node last read it from the
//! sessions view, kept up to date from the event log itself: while Postgres
//! does not answer, it stands in for the view, so that an authenticated
//! write needs only NATS (the log), and a logout, a password change, a
//! suspension or a deletion still holds on this node within moments of its
//! event.
//!
//! A read of the view can race a change that the log already announced (the
//! view lags the log): like the view caches, an entry is kept only if no
//! change to its user arrived while it was read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use resourcify_domain::session::SessionEvent;
use resourcify_domain::user::UserEvent;
use resourcify_domain::{DomainEvent, Role};
use resourcify_eventstore::{EventStore, RawEvent};
use resourcify_readmodel::SessionAccess;
use uuid::Uuid;

/// How many sessions a node remembers; others are read again.
const CAPACITY: u64 = 200_000;
/// Once the view has failed to answer, how long requests go straight to
/// what the node knows rather than each waiting out the view's timeout;
/// then one request asks the view again.
const VIEW_AWAY_FOR: Duration = Duration::from_secs(1);

/// The sessions this node has seen, kept current from the log.
#[derive(Clone)]
pub(crate) struct AccessCache {
    entries: moka::sync::Cache<Uuid, Arc<SessionAccess>>,
    /// Bumped by every change the log announces; an entry read from the
    /// view while it moved is not kept.
    generation: Arc<AtomicU64>,
    /// When the sessions view last failed to answer, while it has not
    /// answered since.
    view_failed_at: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache")
            .field("sessions", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl AccessCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
            view_failed_at: Arc::default(),
        }
    }

    /// The session as known here, when the view failed to answer a moment
    /// ago: asking it again would only make the request wait out its
    /// timeout. `None`: ask the view.
    pub(crate) fn while_the_view_is_away(&self, session_id: Uuid) -> Option<SessionAccess> {
        let failed_at = *self
            .view_failed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        failed_at
            .filter(|at| at.elapsed() < VIEW_AWAY_FOR)
            .and_then(|_| self.get(session_id))
    }

    /// Records whether the view answered, for [`Self::while_the_view_is_away`].
    pub(crate) fn view_answered(&self, answered: bool) {
        let mut failed_at = self
            .view_failed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *failed_at = (!answered).then(Instant::now);
    }

    /// The session as last known here (`ended` once the log said so).
    pub(crate) fn get(&self, session_id: Uuid) -> Option<SessionAccess> {
        self.entries
            .get(&session_id)
            .map(|access| (*access).clone())
    }

    /// Read before asking the view; pass to [`Self::insert`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what the view said, unless the log announced a change since
    /// `generation` was read.
    pub(crate) fn insert(&self, session_id: Uuid, access: SessionAccess, generation: u64) {
        if self.generation() == generation {
            self.entries.insert(session_id, Arc::new(access));
        }
    }

    /// Drops a session the view says has ended (or never existed).
    pub(crate) fn forget(&self, session_id: Uuid) {
        self.entries.invalidate(&session_id);
    }

    /// Applies an event of the log to what is cached.
    fn apply(&self, event: &DomainEvent) {
        let change: Option<(Uuid, Change)> = match event {
            DomainEvent::Session(SessionEvent::Ended(e)) => {
                Some((e.user_id, Change::EndSession(e.session_id)))
            }
            DomainEvent::User(e) => match e {
                UserEvent::SessionsRevoked(e) => Some((e.user_id, Change::EndAll)),
                UserEvent::PasswordChanged(e) => Some((e.user_id, Change::EndAll)),
                UserEvent::Deleted(e) => Some((e.user_id, Change::EndAll)),
                UserEvent::Suspended(e) => Some((e.user_id, Change::Suspended(true))),
                UserEvent::Reinstated(e) => Some((e.user_id, Change::Suspended(false))),
                UserEvent::RoleGranted(e) => Some((e.user_id, Change::Role(e.role, true))),
                UserEvent::RoleRevoked(e) => Some((e.user_id, Change::Role(e.role, false))),
                _ => None,
            },
            _ => None,
        };
        let Some((user_id, change)) = change else {
            return;
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        // An ended session stays, marked: while Postgres is away it is
        // refused as ended (401), not as unknown (503).
        let affected: Vec<(Arc<Uuid>, Arc<SessionAccess>)> = match change {
            Change::EndSession(session_id) => self
                .entries
                .get(&session_id)
                .map(|access| (Arc::new(session_id), access))
                .into_iter()
                .collect(),
            // A user has a few sessions at most; the walk is over what this
            // node caches, in memory. A session that starts after the
            // revocation is not cached yet (its login waits for the view,
            // which already shows the revocation).
            _ => self
                .entries
                .iter()
                .filter(|(_, access)| access.user_id == user_id)
                .collect(),
        };
        for (session_id, cached) in affected {
            let mut access = (*cached).clone();
            match change {
                Change::EndSession(_) | Change::EndAll => access.ended = true,
                Change::Suspended(suspended) => access.suspended = suspended,
                Change::Role(role, granted) => {
                    let name = role.as_str().to_owned();
                    access.roles.retain(|r| *r != name);
                    if granted {
                        access.roles.push(name);
                        access.roles.sort();
                    }
                }
            }
            self.entries.insert(*session_id, Arc::new(access));
        }
    }

    /// Follows the log from its head until the task is dropped, applying
    /// every change of a session or a user's standing. Reopens the feed
    /// after an interruption, from where it was.
    pub(crate) async fn follow(self, store: EventStore) {
        let mut pause = Duration::from_millis(100);
        let mut position = loop {
            match store.head().await {
                Ok(head) => break head,
                Err(error) => {
                    tracing::warn!(%error, "cannot start following sessions");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        };
        loop {
            match store.feed_after(position).await {
                Ok(mut feed) => {
                    while let Some(next) = feed.next().await {
                        match next {
                            Ok(raw) => {
                                self.observe(&raw);
                                position = raw.position;
                                pause = Duration::from_millis(100);
                            }
                            Err(error) => {
                                tracing::debug!(%error, "session feed interrupted; reopening");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::debug!(%error, "cannot open the session feed"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    fn observe(&self, raw: &RawEvent) {
        let concerns_access = raw.ce_type.as_deref().is_some_and(|t| {
            t.starts_with("resourcify.session.") || t.starts_with("resourcify.user.")
        });
        if !concerns_access {
            return;
        }
        match raw.decode() {
            Ok(recorded) => self.apply(&recorded.event),
            Err(error) => {
                // Unreadable: forget every session rather than keep what
                // it may have changed.
                tracing::warn!(%error, position = raw.position, "unreadable session event");
                self.generation.fetch_add(1, Ordering::AcqRel);
                self.entries.invalidate_all();
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    EndSession(Uuid),
    EndAll,
    Suspended(bool),
    Role(Role, bool),
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use resourcify_domain::session::{SessionEndReason, SessionEnded};
    use resourcify_domain::user::{UserDeleted, UserSuspended};

    fn access(user_id: Uuid) -> SessionAccess {
        SessionAccess {
            user_id,
            username: "ada".into(),
            roles: vec![],
            suspended: false,
            expires_at: Utc::now(),
            ended: false,
        }
    }

    #[test]
    fn the_log_ends_suspends_and_deletes_what_is_cached() {
        let cache = AccessCache::new(Duration::from_secs(60));
        let (ada, grace) = (Uuid::now_v7(), Uuid::now_v7());
        let (one, two, three) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for (session, user) in [(one, ada), (two, ada), (three, grace)] {
            cache.insert(session, access(user), cache.generation());
        }
        cache.apply(&DomainEvent::Session(SessionEvent::Ended(SessionEnded {
            session_id: one,
            user_id: ada,
            reason: SessionEndReason::Logout,
            at: Utc::now(),
        })));
        assert!(cache.get(one).unwrap().ended);
        assert!(!cache.get(two).unwrap().ended);
        cache.apply(&DomainEvent::User(UserEvent::Suspended(UserSuspended {
            user_id: ada,
            reason: "spam".into(),
            suspended_by: None,
            at: Utc::now(),
        })));
        assert!(cache.get(two).unwrap().suspended);
        assert!(!cache.get(three).unwrap().suspended);
        cache.apply(&DomainEvent::User(UserEvent::Deleted(UserDeleted {
            user_id: ada,
            at: Utc::now(),
        })));
        assert!(cache.get(two).unwrap().ended);
        assert!(!cache.get(three).unwrap().ended);
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = AccessCache::new(Duration::from_secs(60));
        let (ada, session) = (Uuid::now_v7(), Uuid::now_v7());
        let seen = cache.generation();
        cache.apply(&DomainEvent::User(UserEvent::Deleted(UserDeleted {
            user_id: ada,
            at: Utc::now(),
        })));
        cache.insert(session, access(ada), seen);
        assert!(cache.get(session).is_none());
    }
}
