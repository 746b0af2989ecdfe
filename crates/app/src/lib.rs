//! The application layer: the command service (validate → load → decide →
//! append) and the query facade (wait for a position → named read query).
//! The HTTP layer calls these one-line methods and nothing else.

mod auth;
mod commands;
mod cursor;
mod error;
mod positions;
mod queries;

use std::sync::Arc;
use std::time::Duration;

use resourcify_eventstore::{EventStore, ReservationBook};
use resourcify_readmodel::ReadModel;

pub use auth::{AccessToken, AuthenticatedUser, Passwords, TokenSecret, Tokens};
pub use commands::{Registered, Submitted};
pub use cursor::Cursor;
pub use error::AppError;
pub use positions::{ViewPositions, follow_view_notices};
pub use queries::{ResourcePage, ResourceQuery};
pub use resourcify_readmodel::ResourceRow;

/// Settings the application layer needs, read once by the binary.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub token_secret: TokenSecret,
    pub token_ttl: Duration,
    /// How long a read waits for a projection to reach a requested position.
    pub read_wait: Duration,
}

/// The application: everything a request handler may call.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: EventStore,
    reservations: ReservationBook,
    reads: ReadModel,
    positions: ViewPositions,
    tokens: Tokens,
    passwords: Passwords,
    settings: AppSettings,
}

impl App {
    pub fn new(
        store: EventStore,
        reservations: ReservationBook,
        reads: ReadModel,
        positions: ViewPositions,
        settings: AppSettings,
    ) -> Self {
        let tokens = Tokens::new(&settings.token_secret, settings.token_ttl);
        Self {
            inner: Arc::new(Inner {
                store,
                reservations,
                reads,
                positions,
                tokens,
                passwords: Passwords,
                settings,
            }),
        }
    }

    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    pub fn positions(&self) -> &ViewPositions {
        &self.inner.positions
    }
}
