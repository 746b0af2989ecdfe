//! Request and response bodies, as the OpenAPI document describes them:
//! one file per feature, re-exported here.

mod accounts;
mod comments;
mod discovery;
mod flags;
mod history;
mod moderation;
mod my_data;
mod notifications;
mod resources;
mod secret;
mod shared;
mod sites;

pub use accounts::*;
pub use comments::*;
pub use discovery::*;
pub use flags::*;
pub use history::*;
pub use moderation::*;
pub use my_data::*;
pub use notifications::*;
pub use resources::*;
pub use secret::SecretText;
pub use shared::*;
pub use sites::*;
