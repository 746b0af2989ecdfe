//! Of several projector nodes, one is active and the others stand by: the
//! active one holds a lease in a JetStream key-value bucket and renews it
//! well within its lifetime; a standby tries to take it every second, and
//! does once the active node has died and the lease expired (within
//! [`LEASE_LIFETIME`] and a second of a kill -9).
//!
//! The lease is what keeps the nodes from taking turns batch by batch, not
//! what keeps the views right: every batch still locks its projection's
//! checkpoint row and commits with it, so two nodes briefly both active (a
//! lease lost during a partition) apply nothing twice and skip nothing.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resourcify_eventstore::{Lease, Leases};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::live::Projectors;

/// How long a lease lasts unless renewed: a standby takes over at most this
/// long (and a poll) after the active node dies.
pub const LEASE_LIFETIME: Duration = Duration::from_secs(6);

/// How often the active node renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(2);

/// How often a standby asks for the lease.
const STANDBY_POLL: Duration = Duration::from_secs(1);

/// The lease's key: one for the node's projectors together (they share
/// one reader of the log).
const KEY: &str = "projectors";

/// Runs `projectors` whenever this node holds the lease, until `stop`.
pub async fn run_when_leading(
    projectors: Projectors,
    leases: Leases,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let lease = tokio::select! {
            lease = acquire(&leases) => lease,
            () = &mut stop => return,
        };
        tracing::info!(
            holder = leases.holder_name(),
            "projectors active on this node"
        );
        let held = Arc::new(Mutex::new(Some(lease)));
        let (lost_tx, lost) = oneshot::channel::<()>();
        let mut stopped = false;
        {
            // Both in this task, so that aborting it (a node dropped) ends
            // the renewals too, as a kill would.
            let keeper = keep(leases.clone(), held.clone(), lost_tx);
            let projecting = projectors.clone().run_until(async {
                tokio::select! {
                    () = &mut stop => stopped = true,
                    _ = lost => tracing::warn!("projector lease lost; standing by"),
                }
            });
            tokio::pin!(keeper, projecting);
            tokio::select! {
                () = &mut projecting => {}
                () = &mut keeper => projecting.await,
            }
        }
        if stopped {
            // Handed back, so that a standby need not wait for it to expire.
            let lease = held.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(lease) = lease {
                let _ = leases.release(lease).await;
            }
            return;
        }
    }
}

/// Waits until this node holds the lease.
async fn acquire(leases: &Leases) -> Lease {
    loop {
        match leases.try_acquire(KEY).await {
            Ok(Some(lease)) => return lease,
            Ok(None) => {}
            Err(error) => tracing::debug!(%error, "cannot ask for the projector lease"),
        }
        tokio::time::sleep(STANDBY_POLL).await;
    }
}

/// Renews the lease in `held` until it is lost, then says so on `lost`:
/// taken by another, or not renewed for so long that another may have.
async fn keep(leases: Leases, held: Arc<Mutex<Option<Lease>>>, lost: oneshot::Sender<()>) {
    let mut renewed_at = Instant::now();
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let Some(current) = held.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            break;
        };
        match leases.renew(&current).await {
            Ok(Some(renewed)) => {
                renewed_at = Instant::now();
                *held.lock().unwrap_or_else(|p| p.into_inner()) = Some(renewed);
            }
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(%error, "cannot renew the projector lease");
                *held.lock().unwrap_or_else(|p| p.into_inner()) = Some(current);
                if renewed_at.elapsed() + RENEW_EVERY >= LEASE_LIFETIME {
                    break;
                }
            }
        }
    }
    let _ = lost.send(());
}
