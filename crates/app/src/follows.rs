//! Follows: members follow tags and other members, and read a feed of
//! what those bring.

use chrono::Utc;
use resourcify_domain::ValidationErrors;
use resourcify_domain::resource::Tag;
use resourcify_domain::user::UserCommand;
use resourcify_readmodel::Scope;
use resourcify_readmodel::projections::Projection;

use crate::core::Core;
use crate::core::{CommandMeta, CommandOutcome};
use crate::credentials::AuthenticatedUser;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::hidden_tags::fill_page;
use crate::paging::{PageRequest, ResourcePage, newest_before, paging};

/// Who and what members follow, and the feed it makes.
#[derive(Debug, Clone)]
pub struct Follows {
    core: Core,
}

impl Follows {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    pub async fn tag(
        &self,
        caller: &AuthenticatedUser,
        tag: &str,
        follow: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let tag = Tag::parse(tag)
            .map_err(|message| AppError::Invalid(ValidationErrors::single("tag", message)))?;
        let request = ("follow_tag", tag.as_str().to_owned(), follow);
        self.core
            .on_own_account(caller, &request, meta, |actor| {
                let at = Utc::now();
                if follow {
                    UserCommand::FollowTag { actor, tag, at }
                } else {
                    UserCommand::UnfollowTag { actor, tag, at }
                }
            })
            .await
    }

    pub async fn user(
        &self,
        caller: &AuthenticatedUser,
        username: &str,
        follow: bool,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let followee_id = self.core.user_id_by_username(username).await?;
        let request = ("follow_user", followee_id, follow);
        self.core
            .on_own_account(caller, &request, meta, |actor| {
                let at = Utc::now();
                if follow {
                    UserCommand::FollowUser {
                        actor,
                        followee_id,
                        at,
                    }
                } else {
                    UserCommand::UnfollowUser {
                        actor,
                        followee_id,
                        at,
                    }
                }
            })
            .await
    }

    /// The caller's feed: resources and news with a followed tag, and
    /// resources by a followed user, newest first, without those carrying
    /// a tag the caller hides.
    pub async fn feed(
        &self,
        caller: &AuthenticatedUser,
        page: PageRequest<'_>,
        min_position: Option<u64>,
    ) -> Result<ResourcePage, AppError> {
        let paging = paging(page)?;
        let hidden = self.core.hidden_tags(Some(caller), min_position).await?;
        let views = [Projection::Users, Projection::Resources];
        let reads = self.core.read_from(&views, min_position).await?.reads;
        let tags = reads.followed_tags(caller.user_id).await?;
        let users = reads.followed_users(caller.user_id).await?;
        let scopes: Vec<Scope> = tags
            .iter()
            .flat_map(|tag| Scope::tagged(tag))
            .chain(users.iter().map(|u| Scope::Author(u.user_id)))
            .collect();
        let (reads, scopes) = (&reads, &scopes);
        let read = |after: Option<Cursor>, fetch| async move {
            if scopes.is_empty() {
                return Ok(Vec::new());
            }
            let before = newest_before(after.as_ref())?;
            Ok(reads.resources_in_scopes(scopes, before, fetch).await?)
        };
        fill_page(&paging, &hidden, read, Cursor::newest).await
    }
}
