//! What every feature service shares: the event log, the uniqueness and
//! idempotency buckets, the views with this node's positions and caches,
//! and the settings. A service holds a `Core` (an `Arc`, cheap to clone)
//! and its own parts; it never reaches into another service's.

mod commands;
mod reads;

use std::sync::Arc;

use resourcify_eventstore::{EventStore, IdempotencyKeys, ReservationBook};
use resourcify_readmodel::ReadModel;

use crate::keys::Fingerprints;
use crate::positions::ViewPositions;
use crate::settings::AppSettings;
use crate::views::Views;

pub(crate) use commands::created_id;
pub use commands::{CommandMeta, CommandOutcome};

#[derive(Debug, Clone)]
pub(crate) struct Core {
    parts: Arc<Parts>,
}

/// What a node opens for its application layer, once: the event log, the
/// uniqueness and idempotency buckets, the read model, and how far this
/// node knows each view to be.
#[derive(Debug)]
pub struct Backends {
    pub store: EventStore,
    pub reservations: ReservationBook,
    pub idempotency_keys: IdempotencyKeys,
    pub reads: ReadModel,
    pub positions: ViewPositions,
}

#[derive(Debug)]
struct Parts {
    backends: Backends,
    views: Views,
    /// Fingerprints of idempotent requests, and those the key before a
    /// rotation made (a repeat that straddles the rotation still matches).
    fingerprints: Fingerprints,
    previous_fingerprints: Option<Fingerprints>,
    settings: AppSettings,
    /// Set once the node is shutting down: it takes no new work.
    draining: tokio::sync::watch::Sender<bool>,
}

impl Core {
    pub(crate) fn new(backends: Backends, settings: AppSettings) -> Self {
        let views = Views::new(settings.cache_capacity, settings.cache_ttl);
        let fingerprints = Fingerprints::new(&settings.token_secret);
        let previous_fingerprints = settings
            .previous_token_secret
            .as_ref()
            .map(Fingerprints::new);
        Self {
            parts: Arc::new(Parts {
                backends,
                views,
                fingerprints,
                previous_fingerprints,
                settings,
                draining: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// From now on the node takes no new work: `/readyz` says so and open
    /// streams end, so that a load balancer moves clients elsewhere while
    /// requests in flight finish.
    pub(crate) fn begin_draining(&self) {
        self.parts.draining.send_replace(true);
    }

    pub(crate) fn is_draining(&self) -> bool {
        *self.parts.draining.borrow()
    }

    /// Resolves once the node begins draining.
    pub(crate) fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut draining = self.parts.draining.subscribe();
        async move {
            let _ = draining.wait_for(|draining| *draining).await;
        }
    }

    pub(crate) fn store(&self) -> &EventStore {
        &self.parts.backends.store
    }

    pub(crate) fn reservations(&self) -> &ReservationBook {
        &self.parts.backends.reservations
    }

    pub(crate) fn reads(&self) -> &ReadModel {
        &self.parts.backends.reads
    }

    pub(crate) fn positions(&self) -> &ViewPositions {
        &self.parts.backends.positions
    }

    pub(crate) fn views(&self) -> &Views {
        &self.parts.views
    }

    pub(crate) fn settings(&self) -> &AppSettings {
        &self.parts.settings
    }
}
