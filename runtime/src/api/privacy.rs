//! `/v1/audit` and `/v1/privacy/retention`: a business reads its own audit
//! trail (exports, erasures, secret changes, plugin activations, newest
//! first, each row with the hash that chains it to the one before), and sets
//! how long message bodies are kept (seeing how old the oldest kept one is).

use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Query};
use crate::App;
use crate::store::audit::{self, AuditEvent};
use crate::store::retention::{self, Retention};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_audit)).routes(routes!(get_retention, set_retention))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// At most this many rows (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The business's audit trail, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "privacy", security(("business_key" = [])), params(AuditParams),
    responses((status = 200, body = Vec<AuditEvent>)))]
async fn list_audit(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<AuditParams>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let limit = params.limit.unwrap_or(100).min(1000);
    Ok(Json(audit::list(&app.db, &business.id, limit).await?))
}

/// How long message bodies are kept, and how old the oldest kept one is.
#[utoipa::path(get, path = "/v1/privacy/retention", tag = "privacy", security(("business_key" = [])),
    responses((status = 200, body = Retention)))]
async fn get_retention(State(app): State<App>, Caller(business): Caller) -> Result<Json<Retention>, ApiError> {
    Ok(Json(retention::get(&app.db, &business.id, crate::ids::now_ms()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionInput {
    /// Erase message bodies (and delete the team's private notes) older than
    /// this many days (1 to 3650); `null` keeps them until the customer is erased.
    pub message_days: Option<i64>,
}

/// Sets how long message bodies and private notes are kept; older bodies
/// are erased by the retention sweeper (their metadata kept), older notes
/// deleted.
#[utoipa::path(put, path = "/v1/privacy/retention", tag = "privacy", security(("business_key" = [])),
    request_body = RetentionInput, responses((status = 200, body = Retention), (status = 422, body = ErrorBody)))]
async fn set_retention(
    State(app): State<App>,
    Caller(business): Caller,
    Json(input): Json<RetentionInput>,
) -> Result<Json<Retention>, ApiError> {
    Ok(Json(change_retention(&app, &business.id, input.message_days, "business").await?))
}

/// Sets `business_id`'s retention (checked, recorded in its audit trail) and
/// reads it back: the API's and the console's.
pub(crate) async fn change_retention(
    app: &App,
    business_id: &str,
    message_days: Option<i64>,
    actor: &str,
) -> Result<Retention, ApiError> {
    if message_days.is_some_and(|days| !(1..=3650).contains(&days)) {
        return Err(ApiError::invalid("message_days must be 1 to 3650, or null"));
    }
    retention::set(&app.db, business_id, message_days).await?;
    let subject = match message_days {
        Some(days) => format!("message retention {days} days"),
        None => "message retention off".to_string(),
    };
    let entry = audit::Entry { business_id, actor, action: "retention.set", subject: &subject, outcome: "ok" };
    audit::append(&app.db, entry).await?;
    Ok(retention::get(&app.db, business_id, crate::ids::now_ms()).await?)
}
