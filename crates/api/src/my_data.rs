//! The caller's own data: all of it as one export; their sessions, and
//! ending one of them.

use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};
use uuid::Uuid;

use crate::ApiError;
use crate::cached::PrivateResponse;
use crate::dto::{MyDataExport, Session, SessionList};
use crate::extract::{CommandHeaders, MinPosition};
use crate::responses::CommandResponse;
use crate::security::BearerAuth;

#[derive(Tags)]
enum ApiTags {
    /// The caller's own account.
    Me,
}

#[derive(Debug)]
pub struct MyDataApi {
    pub my_data: resourcify_app::MyData,
    pub sessions: resourcify_app::Sessions,
}

#[OpenApi(prefix_path = "/v1/me", tag = "ApiTags::Me")]
impl MyDataApi {
    /// Everything the platform holds about oneself, as one document
    ///
    /// The profile with the e-mail address, roles and registration time;
    /// follows of tags and users; one's resources (hidden and retracted
    /// ones included), comments (deleted ones without their text), votes,
    /// bookmarks and sessions (ended ones included). Each list holds at
    /// most `limit_per_list` (10,000) items, newest first, and `truncated`
    /// names the lists that had more; follows are capped at 1,000 anyway.
    #[oai(path = "/export", method = "get", operation_id = "exportMyData")]
    async fn export(
        &self,
        auth: BearerAuth,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<MyDataExport>, ApiError> {
        let data = self.my_data.export(&auth.0, min_position.0).await?;
        Ok(PrivateResponse::one(MyDataExport::new(
            data,
            auth.0.session_id,
        )))
    }

    /// One's sessions that still hold, newest first
    ///
    /// Not ended and not expired; at most the 1,000 newest. `current` marks
    /// the session of the token making the request.
    #[oai(path = "/sessions", method = "get", operation_id = "listSessions")]
    async fn sessions(
        &self,
        auth: BearerAuth,
        min_position: MinPosition,
    ) -> Result<PrivateResponse<SessionList>, ApiError> {
        let rows = self.sessions.open_sessions(&auth.0, min_position.0).await?;
        let current = auth.0.session_id;
        let items = rows
            .into_iter()
            .map(|row| Session::from_row(row, current))
            .collect();
        Ok(PrivateResponse::one(SessionList { items }))
    }

    /// End one of one's sessions
    ///
    /// Its tokens are refused from the next request on, on every node;
    /// ending one that has ended already changes nothing. Another member's
    /// session is a 404.
    #[oai(path = "/sessions/:id", method = "delete", operation_id = "endSession")]
    async fn end_session(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        meta: CommandHeaders,
    ) -> Result<CommandResponse, ApiError> {
        Ok(self.sessions.end(&auth.0, id.0, &meta).await?.into())
    }
}
