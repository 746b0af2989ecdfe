//! What every feature service shares: the event log, the uniqueness and
//! idempotency buckets, the views with this node's positions and caches,
//! and the settings. A service holds a `Core` (an `Arc`, cheap to clone)
//! and its own parts; it never reaches into another service's.

mod commands;
mod reads;

use std::sync::Arc;

use resourcify_eventstore::{EventStore, IdempotencyKeys, ReservationBook, StreamTickets};
use resourcify_readmodel::ReadModel;

use crate::keys::Fingerprints;
use crate::metric_families::VIEW_READS;
use crate::positions::ViewPositions;
use crate::replicas::ReadReplicas;
use crate::settings::AppSettings;
use crate::views::Views;

pub use commands::{CommandMeta, CommandOutcome};
pub(crate) use commands::{created_id, unwritten};

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
    /// Tickets that open notification streams (ADR 22).
    pub stream_tickets: StreamTickets,
    /// The primary: what the projectors write, and what is read when no
    /// replica is in rotation.
    pub reads: ReadModel,
    /// Streaming replicas of the primary, if any, for the views' reads.
    pub replicas: ReadReplicas,
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
    /// View reads that went to the primary (resolved once).
    primary_reads: metrics::Counter,
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
                primary_reads: metrics::counter!(VIEW_READS, "source" => "primary"),
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

    pub(crate) fn stream_tickets(&self) -> &StreamTickets {
        &self.parts.backends.stream_tickets
    }

    /// The primary's read model, for what is not a view read: health,
    /// pool statistics, running queries. Views are read through
    /// [`Core::read_from`], which may pick a replica.
    pub(crate) fn primary(&self) -> &ReadModel {
        &self.parts.backends.reads
    }

    pub(crate) fn replicas(&self) -> &ReadReplicas {
        &self.parts.backends.replicas
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
