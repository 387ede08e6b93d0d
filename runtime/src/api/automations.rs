//! `/v1/automations`: a business's greeting, away message with opening hours,
//! quick replies and handoff words, set without writing a plugin.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json};
use crate::App;
use crate::automations::Automations;
use crate::store::businesses;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_automations, put_automations, delete_automations))
}

/// The business's automations (empty when none are set).
#[utoipa::path(get, path = "/v1/automations", tag = "chat", security(("business_key" = [])),
    responses((status = 200, body = Automations)))]
async fn get_automations(Caller(business): Caller) -> Json<Automations> {
    Json(business.automations.unwrap_or_default())
}

/// Replace the business's automations.
#[utoipa::path(put, path = "/v1/automations", tag = "chat", security(("business_key" = [])), request_body = Automations,
    responses((status = 200, body = Automations), (status = 422, body = ErrorBody)))]
async fn put_automations(
    State(app): State<App>,
    Caller(business): Caller,
    Json(automations): Json<Automations>,
) -> Result<Json<Automations>, ApiError> {
    automations.check().map_err(ApiError::invalid)?;
    businesses::set_automations(&app.db, &business.id, Some(&automations)).await?;
    Ok(Json(automations))
}

/// Remove every automation (conversations go back to the bot alone).
#[utoipa::path(delete, path = "/v1/automations", tag = "chat", security(("business_key" = [])), responses((status = 204)))]
async fn delete_automations(State(app): State<App>, Caller(business): Caller) -> Result<StatusCode, ApiError> {
    businesses::set_automations(&app.db, &business.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
