//! `/v1/channels/whatsapp` and `/v1/outbox`: a business connects its WhatsApp
//! number, and watches (and retries) what the host sends to its customers.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Path, Query};
use crate::App;
use crate::store::channels::{self, WhatsAppChannel};
use crate::store::outbox::{self, OutboxEntry, SendState};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(put_whatsapp, get_whatsapp, delete_whatsapp))
        .routes(routes!(list_outbox))
        .routes(routes!(retry_send))
}

/// Where Graph API requests go unless the business says otherwise.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com/v23.0";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppInput {
    /// The WhatsApp Business phone number id (from Meta's app dashboard).
    pub phone_number_id: String,
    /// The Meta app's secret: webhook deliveries are verified with it.
    pub app_secret: String,
    /// What Meta sends in the webhook verification handshake.
    pub verify_token: String,
    /// A system-user access token allowed to send messages for the number.
    pub access_token: String,
    /// The Graph API base, e.g. `https://graph.facebook.com/v23.0` (the
    /// default): https on a public address, unless the operator allows the
    /// host (`--allow-egress-to`).
    pub graph_base_url: Option<String>,
    /// The Meta commerce catalog holding the shop's products under the same
    /// ids; product replies become native product messages when set.
    pub catalog_id: Option<String>,
    /// Sends per second to this number; 80 (Meta's default) when absent.
    pub rate_per_second: Option<i64>,
    /// The WhatsApp Business Account id the number belongs to: the operator
    /// reconciles the channel charges against its `pricing_analytics`.
    pub waba_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhatsAppView {
    #[serde(flatten)]
    pub channel: WhatsAppChannel,
    /// Give Meta this callback URL (with the verify token) for the webhook.
    pub webhook_url: String,
}

fn field(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!("{name} must be 1 to {max} characters without control characters")));
    }
    Ok(())
}

fn view(app: &App, channel: WhatsAppChannel) -> WhatsAppView {
    let webhook_url = format!("{}/webhooks/whatsapp/{}", app.config.commerce.public_url, channel.business_id);
    WhatsAppView { channel, webhook_url }
}

/// Connect (or reconnect) the business's WhatsApp number.
#[utoipa::path(put, path = "/v1/channels/whatsapp", tag = "chat", security(("business_key" = [])),
    request_body = WhatsAppInput,
    responses((status = 200, body = WhatsAppView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_whatsapp(
    State(app): State<App>,
    Caller(business): Caller,
    Json(input): Json<WhatsAppInput>,
) -> Result<Json<WhatsAppView>, ApiError> {
    field("phone_number_id", &input.phone_number_id, 64)?;
    if !input.phone_number_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid("phone_number_id must be digits"));
    }
    field("app_secret", &input.app_secret, 256)?;
    field("verify_token", &input.verify_token, 256)?;
    field("access_token", &input.access_token, 4096)?;
    let graph_base_url = input.graph_base_url.unwrap_or_else(|| DEFAULT_GRAPH_BASE_URL.to_string());
    field("graph_base_url", &graph_base_url, 2048)?;
    // The access token is sent there: only where the egress policy allows.
    app.config
        .egress
        .check_configured(&graph_base_url)
        .await
        .map_err(|why| ApiError::egress_refused("graph_base_url", why))?;
    if let Some(catalog_id) = &input.catalog_id {
        field("catalog_id", catalog_id, 64)?;
    }
    if let Some(waba_id) = &input.waba_id
        && (!(1..=64).contains(&waba_id.len()) || !waba_id.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ApiError::invalid("waba_id must be 1 to 64 digits"));
    }
    let rate_per_second = input.rate_per_second.unwrap_or(80);
    if !(1..=1000).contains(&rate_per_second) {
        return Err(ApiError::invalid("rate_per_second must be 1 to 1000"));
    }
    let channel = WhatsAppChannel {
        business_id: business.id.clone(),
        phone_number_id: input.phone_number_id,
        app_secret: input.app_secret,
        verify_token: input.verify_token,
        access_token: input.access_token,
        graph_base_url: graph_base_url.trim_end_matches('/').to_string(),
        catalog_id: input.catalog_id,
        rate_per_second,
        waba_id: input.waba_id,
    };
    let saved = channels::put_whatsapp(&app.db, &channel).await?;
    Ok(Json(view(&app, saved)))
}

/// The business's WhatsApp number (secrets are never shown).
#[utoipa::path(get, path = "/v1/channels/whatsapp", tag = "chat", security(("business_key" = [])),
    responses((status = 200, body = WhatsAppView), (status = 404, body = ErrorBody)))]
async fn get_whatsapp(State(app): State<App>, Caller(business): Caller) -> Result<Json<WhatsAppView>, ApiError> {
    let channel =
        channels::whatsapp(&app.db, &business.id).await?.ok_or_else(|| ApiError::not_found("a WhatsApp channel"))?;
    Ok(Json(view(&app, channel)))
}

/// Disconnect the WhatsApp number; its webhook stops being accepted.
#[utoipa::path(delete, path = "/v1/channels/whatsapp", tag = "chat", security(("business_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_whatsapp(State(app): State<App>, Caller(business): Caller) -> Result<StatusCode, ApiError> {
    if channels::delete_whatsapp(&app.db, &business.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("a WhatsApp channel"))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxParams {
    /// `pending`, `sent`, `dead` or `expired`; all when absent.
    pub state: Option<String>,
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<u32>,
}

/// What the host queued for the business's customers, newest first.
#[utoipa::path(get, path = "/v1/outbox", tag = "chat", security(("business_key" = [])), params(OutboxParams),
    responses((status = 200, body = Vec<OutboxEntry>), (status = 422, body = ErrorBody)))]
async fn list_outbox(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<OutboxParams>,
) -> Result<Json<Vec<OutboxEntry>>, ApiError> {
    let state = params
        .state
        .as_deref()
        .map(str::parse::<SendState>)
        .transpose()
        .map_err(|_| ApiError::invalid("state must be pending, sent, dead or expired"))?;
    let limit = params.limit.unwrap_or(100).clamp(1, 500);
    let mut entries = outbox::list(&app.db, &business.id, state, limit).await?;
    crate::billing::charges::price_sends(&app.billing, &mut entries).await?;
    Ok(Json(entries))
}

/// Send a dead message again (its attempts start over).
#[utoipa::path(post, path = "/v1/outbox/{id}/retry", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 202), (status = 409, body = ErrorBody)))]
async fn retry_send(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if outbox::retry(&app.db, &business.id, &id).await? {
        app.outbox.wake();
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::new(StatusCode::CONFLICT, "not_dead", "only a dead send can be retried; check its id and state"))
    }
}
