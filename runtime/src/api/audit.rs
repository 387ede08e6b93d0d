//! `/v1/audit`: a business reads its own audit trail (exports, erasures,
//! secret changes, plugin activations), newest first, each row with the hash
//! that chains it to the one before.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{Caller, Json, Query};
use crate::App;
use crate::store::audit::{self, AuditEvent};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_audit))
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
