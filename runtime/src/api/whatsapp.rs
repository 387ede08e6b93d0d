//! `/webhooks/whatsapp/{business}`: the callback URL a business gives Meta.
//!
//! GET answers the verification handshake. POST takes a delivery: the
//! signature is checked over the raw bytes before anything is read; messages
//! are persisted (a retried delivery is recognised by message id) and status
//! updates applied, then the delivery is acknowledged and the messages are
//! answered asynchronously by the inbound worker.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;
use crate::App;
use crate::store::outbox::DeliveryStatus;
use crate::store::{channels, inbound_events, outbox};
use crate::transport::whatsapp::{self, inbound};

pub fn routes() -> axum::Router<App> {
    axum::Router::new().route("/webhooks/whatsapp/{business_id}", axum::routing::get(verify).post(receive))
}

/// What a delivery did (Meta only needs the 200).
#[derive(Debug, Serialize)]
struct Received {
    /// New messages, queued for the bot.
    messages: usize,
    /// Messages seen before (a retried delivery): not answered again.
    duplicates: usize,
    /// Status updates that moved a sent message forward.
    statuses: usize,
    /// Items for another phone number or without an id.
    ignored: usize,
}

fn not_connected() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no WhatsApp channel is connected at this URL")
}

async fn verify(
    State(app): State<App>,
    Path(business_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let channel = channels::whatsapp(&app.db, &business_id).await?.ok_or_else(not_connected)?;
    let get = |key: &str| query.get(key).map(String::as_str);
    match whatsapp::handshake(&channel.verify_token, get("hub.mode"), get("hub.verify_token"), get("hub.challenge")) {
        Some(challenge) => Ok((StatusCode::OK, challenge.to_string()).into_response()),
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "verification_failed",
            "hub.mode must be `subscribe` and hub.verify_token must match the channel's verify token, with a hub.challenge",
        )),
    }
}

async fn receive(
    State(app): State<App>,
    Path(business_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let channel = channels::whatsapp(&app.db, &business_id).await?.ok_or_else(not_connected)?;
    let signature = headers.get(whatsapp::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if !whatsapp::signature_valid(&channel.app_secret, signature, &body) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of this body with the app secret",
        ));
    }
    let delivery =
        inbound::parse_delivery(&body).map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", why))?;
    let mut received = Received { messages: 0, duplicates: 0, statuses: 0, ignored: 0 };
    for message in &delivery.messages {
        if message.phone_number_id != channel.phone_number_id {
            received.ignored += 1;
            continue;
        }
        let payload = message.payload.to_string();
        if inbound_events::record(&app.db, &business_id, whatsapp::CHANNEL, &message.id, &payload).await? {
            received.messages += 1;
        } else {
            received.duplicates += 1;
        }
    }
    for status in &delivery.statuses {
        if status.phone_number_id != channel.phone_number_id {
            received.ignored += 1;
            continue;
        }
        // A status we do not track (Meta adds some) changes nothing.
        let Ok(reported) = status.status.parse::<DeliveryStatus>() else { continue };
        if outbox::apply_status(&app.db, &business_id, &status.id, reported, status.error.as_deref()).await? {
            received.statuses += 1;
        }
    }
    if received.messages > 0 {
        app.inbox.wake();
    }
    Ok((StatusCode::OK, axum::Json(received)).into_response())
}
