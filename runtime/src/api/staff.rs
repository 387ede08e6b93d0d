//! `/v1/staff` and `/v1/api-keys`: the business's team and its machine keys
//! through the API. With the business's own (full) key a business bootstraps
//! its owner (`POST /v1/staff/invitations` with `"role": "owner"`), then runs
//! the team from the console; machine keys with a lesser scope are for
//! integrations. The rules are `staff`'s; this module only translates HTTP.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Path};
use crate::App;
use crate::domain::staff::{Role, Scope};
use crate::staff;
use crate::store::api_keys::{self, ApiKey};
use crate::store::staff::{self as rows, Invitation, StaffMember};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(invite))
        .routes(routes!(list_staff))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteStaff {
    /// Whom to invite; they sign in with this email.
    pub email: String,
    /// `owner`, `admin`, `agent` or `viewer`.
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    /// Shown once: the single-use link that accepts the invitation (it
    /// expires with the invitation).
    pub link: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for (1 to 64 characters).
    pub name: String,
    /// `full`, `catalog` or `read_only`.
    pub scope: Scope,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    /// Shown once: store it now. Only its hash is kept.
    pub secret: String,
}

/// Invite a person to the team by a single-use link that expires in 7 days.
#[utoipa::path(post, path = "/v1/staff/invitations", tag = "staff", security(("business_key" = [])),
    request_body = InviteStaff,
    responses((status = 201, body = CreatedInvitation), (status = 422, body = ErrorBody)))]
async fn invite(
    State(app): State<App>,
    Caller(business): Caller,
    Json(body): Json<InviteStaff>,
) -> Result<(StatusCode, Json<CreatedInvitation>), ApiError> {
    let (invitation, token) = staff::invite(&app.db, &business.id, &body.email, body.role).await?;
    let link = staff::invitation_link(&app.config.commerce.public_url, &token);
    Ok((StatusCode::CREATED, Json(CreatedInvitation { invitation, link })))
}

/// The team, oldest first.
#[utoipa::path(get, path = "/v1/staff", tag = "staff", security(("business_key" = [])),
    responses((status = 200, body = Vec<StaffMember>)))]
async fn list_staff(State(app): State<App>, Caller(business): Caller) -> Result<Json<Vec<StaffMember>>, ApiError> {
    Ok(Json(rows::list(&app.db, &business.id).await?))
}

/// Create a machine key with a scope; its secret is in the answer, once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "staff", security(("business_key" = [])),
    request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 422, body = ErrorBody)))]
async fn create_api_key(
    State(app): State<App>,
    Caller(business): Caller,
    Json(body): Json<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let name = staff::check_name(&body.name).map_err(|_| ApiError::invalid("name must be 1 to 64 characters"))?;
    let (key, secret) = api_keys::create(&app.db, &business.id, name, body.scope).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, secret })))
}

/// The business's machine keys (never their secrets).
#[utoipa::path(get, path = "/v1/api-keys", tag = "staff", security(("business_key" = [])),
    responses((status = 200, body = Vec<ApiKey>)))]
async fn list_api_keys(State(app): State<App>, Caller(business): Caller) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(api_keys::list(&app.db, &business.id).await?))
}

/// Revoke a machine key; it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "staff", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_api_key(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if api_keys::revoke(&app.db, &business.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("the API key"))
    }
}
