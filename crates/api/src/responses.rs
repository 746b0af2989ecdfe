//! The success responses every command shares.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use resourcify_app::CommandOutcome;

use crate::dto::CommandResult;

#[derive(ApiResponse)]
pub(crate) enum CommandResponse {
    /// Done (or already so). Read it back with `X-Resourcify-Min-Position`
    /// set to `position`.
    #[oai(status = 200)]
    Ok(
        Json<CommandResult>,
        #[oai(header = "X-Resourcify-Position")] u64,
    ),
}

impl From<CommandOutcome> for CommandResponse {
    fn from(outcome: CommandOutcome) -> Self {
        Self::Ok(Json(outcome.into()), outcome.position)
    }
}

#[derive(ApiResponse)]
pub(crate) enum CreatedResponse {
    /// Created. Read it back with `X-Resourcify-Min-Position` set to `position`.
    #[oai(status = 201)]
    Created(
        Json<CommandResult>,
        #[oai(header = "Location")] String,
        #[oai(header = "X-Resourcify-Position")] u64,
    ),
}

impl CreatedResponse {
    /// `location` is the path of what was created.
    pub(crate) fn at(location: String, outcome: CommandOutcome) -> Self {
        Self::Created(Json(outcome.into()), location, outcome.position)
    }
}
