//! `/v1/webhook`: a business sets where its signed order and payment events
//! go, and reads how their deliveries went.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json};
use crate::App;
use crate::store::webhooks::{self, Delivery};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(set_webhook, remove_webhook)).routes(routes!(list_deliveries))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An https URL on a public address that answers 2xx to acknowledge a
    /// delivery (plain http and private addresses only for hosts the
    /// operator allows: `--allow-egress-to`). Redirects are not followed.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub url: String,
    /// The signing secret, shown when the endpoint is set. Verify
    /// `Bottega-Signature: t=…,v1=…` as HMAC-SHA256(secret, "t.body").
    pub secret: String,
}

/// Set the webhook endpoint (a new signing secret is issued each time).
#[utoipa::path(put, path = "/v1/webhook", tag = "orders", security(("business_key" = [])), request_body = WebhookInput,
    responses((status = 200, body = WebhookEndpoint), (status = 422, description = "`invalid_request`, or `egress_refused`: the URL is not https or leads to a private address", body = ErrorBody)))]
async fn set_webhook(
    State(app): State<App>,
    Caller(business): Caller,
    Json(input): Json<WebhookInput>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let url = input.url.trim();
    if url.len() > 2048 || url.contains(char::is_whitespace) {
        return Err(ApiError::invalid("url must be an https URL of at most 2048 characters"));
    }
    app.config.egress.check_configured(url).await.map_err(|why| ApiError::egress_refused("url", why))?;
    let secret = crate::ids::new_secret("whsec");
    webhooks::set_endpoint(&app.db, &business.id, Some(url), Some(&secret)).await?;
    Ok(Json(WebhookEndpoint { url: url.to_string(), secret }))
}

/// Stop sending webhooks.
#[utoipa::path(delete, path = "/v1/webhook", tag = "orders", security(("business_key" = [])), responses((status = 204)))]
async fn remove_webhook(State(app): State<App>, Caller(business): Caller) -> Result<StatusCode, ApiError> {
    webhooks::set_endpoint(&app.db, &business.id, None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recent deliveries, newest first, with attempts and the last error.
#[utoipa::path(get, path = "/v1/webhook/deliveries", tag = "orders", security(("business_key" = [])),
    responses((status = 200, body = Vec<Delivery>)))]
async fn list_deliveries(State(app): State<App>, Caller(business): Caller) -> Result<Json<Vec<Delivery>>, ApiError> {
    Ok(Json(webhooks::list(&app.db, &business.id, 100).await?))
}
