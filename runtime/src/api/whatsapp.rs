//! The WhatsApp Cloud API webhooks: `/webhooks/whatsapp/{business}`, the
//! callback URL a business gives its own Meta app, and `/webhooks/whatsapp`,
//! the operator's one callback for a Meta app serving many shops' numbers.
//!
//! GET answers the verification handshake. POST takes a delivery: the
//! signature is checked over the raw bytes before anything is read; then each
//! entry is routed by its `metadata.phone_number_id` to the business whose
//! channel has that number, messages are persisted (a retried delivery is
//! recognised by message id) and status updates applied, and only then is the
//! delivery acknowledged; the inbound worker answers the messages.
//!
//! *Nothing acknowledged is lost.* A delivery is answered 200 only when every
//! entry was stored, or is for a number no business has (those are logged and
//! counted as `unrouted`: there is no one to give them to, and Meta's
//! redelivery would not change that). A storage failure answers 500, so Meta
//! delivers again (stored entries are recognised then). On a business's own
//! URL, an entry for another business's number is routed to that business
//! when the delivery's signature is valid with that business's app secret too
//! (both numbers are on one Meta app); otherwise the whole delivery is refused
//! with 403 and nothing of it is stored.
//!
//! *Rate limits.* A signed delivery counts once against each business it has
//! entries for (and, on a business's own URL, that business); over a
//! business's limit it is answered 429 with `Retry-After` and nothing of it
//! is stored, so Meta delivers it again later. Only signed deliveries count:
//! nobody without the app secret can spend a business's budget.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;
use super::extract::{Path, Query};
use super::rate_limits::Limited;
use crate::App;
use crate::billing::ledger::StatusPricing;
use crate::billing::markets::market_of;
use crate::store::channels::{self, WhatsAppChannel};
use crate::store::outbox::DeliveryStatus;
use crate::store::{inbound_events, outbox};
use crate::transport::inbox::Receipt;
use crate::transport::whatsapp::inbound::{self, Delivery};
use crate::transport::whatsapp::{self};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/webhooks/whatsapp", axum::routing::get(verify_operator).post(receive_operator))
        .route("/webhooks/whatsapp/{business_id}", axum::routing::get(verify).post(receive))
}

/// What a delivery did (Meta only needs the 200).
#[derive(Debug, Default, Serialize)]
struct Received {
    /// New messages, queued for the bot.
    messages: usize,
    /// Messages seen before (a retried delivery): not answered again.
    duplicates: usize,
    /// Status updates that moved a sent message forward.
    statuses: usize,
    /// Status updates that changed nothing (an unknown or older state).
    ignored: usize,
    /// Items for a phone number no business has: logged, not stored.
    unrouted: usize,
}

fn not_connected() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no WhatsApp channel is connected at this URL")
}

fn invalid_signature() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of this body with the app secret",
    )
}

fn handshake(verify_token: &str, query: &HashMap<String, String>) -> Result<Response, ApiError> {
    let get = |key: &str| query.get(key).map(String::as_str);
    match whatsapp::handshake(verify_token, get("hub.mode"), get("hub.verify_token"), get("hub.challenge")) {
        Some(challenge) => Ok((StatusCode::OK, challenge.to_string()).into_response()),
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "verification_failed",
            "hub.mode must be `subscribe` and hub.verify_token must match the channel's verify token, with a hub.challenge",
        )),
    }
}

async fn verify(
    State(app): State<App>,
    Path(business_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let channel = channels::whatsapp(&app.db, &business_id).await?.ok_or_else(not_connected)?;
    handshake(&channel.verify_token, &query)
}

async fn verify_operator(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let token = app.config.whatsapp_verify_token.as_deref().ok_or_else(operator_webhook_off)?;
    handshake(token, &query)
}

fn operator_webhook_off() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "this node has no operator WhatsApp app configured")
}

fn signature_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(whatsapp::SIGNATURE_HEADER).and_then(|v| v.to_str().ok())
}

fn parse(body: &[u8]) -> Result<Delivery, ApiError> {
    inbound::parse_delivery(body).map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", why))
}

/// A business's own callback URL, verified with its channel's app secret.
async fn receive(
    State(app): State<App>,
    Path(business_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let channel = channels::whatsapp(&app.db, &business_id).await?.ok_or_else(not_connected)?;
    let signature = signature_of(&headers);
    if !whatsapp::signature_valid(&channel.app_secret, signature, &body) {
        return Err(invalid_signature());
    }
    let delivery = parse(&body)?;
    // Another business's number is routed there only if its own app secret
    // signed this delivery too.
    let signed_for = |other: &WhatsAppChannel| {
        other.business_id == channel.business_id || whatsapp::signature_valid(&other.app_secret, signature, &body)
    };
    let routes = route(&app, &delivery, Some(&channel), signed_for).await?;
    if let Err(limited) = within_limits(&app, Some(channel.business_id.as_str()), &routes) {
        return Ok(limited.into_response());
    }
    store(&app, &delivery, &routes).await
}

/// The operator's callback URL, verified with the operator's app secret; its
/// entries go to whichever business has their number.
async fn receive_operator(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let secret = app.config.whatsapp_app_secret.as_deref().ok_or_else(operator_webhook_off)?;
    if !whatsapp::signature_valid(secret, signature_of(&headers), &body) {
        return Err(invalid_signature());
    }
    let delivery = parse(&body)?;
    let routes = route(&app, &delivery, None, |_| true).await?;
    if let Err(limited) = within_limits(&app, None, &routes) {
        return Ok(limited.into_response());
    }
    store(&app, &delivery, &routes).await
}

/// Counts a signed delivery once against each business it reaches (`own`:
/// the business whose URL it came to); the first over its limit refuses it.
fn within_limits(app: &App, own: Option<&str>, routes: &HashMap<String, Option<String>>) -> Result<(), Limited> {
    let mut businesses: Vec<&str> = routes.values().flatten().map(String::as_str).chain(own).collect();
    businesses.sort_unstable();
    businesses.dedup();
    businesses.into_iter().try_for_each(|business_id| app.limits.whatsapp_delivery(business_id))
}

/// The business each phone number of `delivery` belongs to (`None`: no
/// business has it). Refuses the whole delivery when a number's business is
/// not one `trusted` accepts as signed for. `own` is the channel whose URL the
/// delivery came to (its number needs no lookup).
async fn route(
    app: &App,
    delivery: &Delivery,
    own: Option<&WhatsAppChannel>,
    trusted: impl Fn(&WhatsAppChannel) -> bool,
) -> Result<HashMap<String, Option<String>>, ApiError> {
    let numbers = delivery
        .messages
        .iter()
        .map(|m| &m.phone_number_id)
        .chain(delivery.statuses.iter().map(|s| &s.phone_number_id));
    let mut routes: HashMap<String, Option<String>> = HashMap::new();
    if let Some(own) = own {
        routes.insert(own.phone_number_id.clone(), Some(own.business_id.clone()));
    }
    for number in numbers {
        if routes.contains_key(number) {
            continue;
        }
        let channel = match number.as_str() {
            "" => None,
            number => channels::whatsapp_by_phone_number(&app.db, number).await?,
        };
        let business = match channel {
            None => None,
            Some(channel) if trusted(&channel) => Some(channel.business_id),
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "not_signed_for_number",
                    format!(
                        "phone number id {number} belongs to a business whose app secret did not sign this delivery; \
                         nothing of it was stored"
                    ),
                ));
            }
        };
        routes.insert(number.clone(), business);
    }
    Ok(routes)
}

/// Stores every routed entry, then acknowledges; any storage failure is an
/// error answer (Meta delivers again).
async fn store(app: &App, delivery: &Delivery, routes: &HashMap<String, Option<String>>) -> Result<Response, ApiError> {
    let mut received = Received::default();
    let mut accepted = Vec::new();
    let business_of = |number: &String| routes.get(number).cloned().flatten();
    for message in &delivery.messages {
        let Some(business_id) = business_of(&message.phone_number_id) else {
            received.unrouted += 1;
            continue;
        };
        let payload = message.payload.to_string();
        let sender = inbound::sender(&message.payload).unwrap_or_default();
        let new = inbound_events::NewEvent {
            business_id: &business_id,
            channel: whatsapp::CHANNEL,
            sender: &sender,
            external_id: &message.id,
            payload: &payload,
        };
        match app.inbox.receive(new).await {
            Ok(Receipt::Claimed(event)) => {
                received.messages += 1;
                accepted.push(event);
            }
            Ok(Receipt::Stored) => {
                received.messages += 1;
                app.inbox.wake();
            }
            Ok(Receipt::Repeat) => received.duplicates += 1,
            Err(e) => {
                // What was stored before is answered all the same; Meta
                // delivers the whole again, and the repeats are known.
                app.inbox.answer_now(&app.supervisor, accepted).await?;
                return Err(e.into());
            }
        }
    }
    // Stored: answered now by this node while it has a free call slot, or
    // by the worker.
    app.inbox.answer_now(&app.supervisor, accepted).await?;
    for status in &delivery.statuses {
        let Some(business_id) = business_of(&status.phone_number_id) else {
            received.unrouted += 1;
            continue;
        };
        // A status we do not track (Meta adds some) changes nothing.
        let Ok(reported) = status.status.parse::<DeliveryStatus>() else {
            received.ignored += 1;
            continue;
        };
        // The send is known by its wamid's keyed hash only (a wamid encodes
        // the customer's number): its status, and its charge, name that.
        let message_key = app.db.message_key(&business_id, &status.id).await?;
        let pricing = status.pricing.as_ref();
        let priced = StatusPricing {
            message_id: &message_key,
            status: &status.status,
            pricing_type: pricing.and_then(|p| p.kind.as_deref()),
            billable: pricing.and_then(|p| p.billable),
            category: pricing.and_then(|p| p.category.as_deref()),
            recipient: status.recipient_id.as_deref(),
            at: status.at,
        };
        // Metering hook: a delivered send's channel charge, in the status's transaction.
        let charge = app.billing.meter().whatsapp_delivery(&business_id, &priced);
        let report = outbox::StatusReport {
            status: reported,
            error: status.error.as_deref(),
            pricing: pricing.map(|p| outbox::SendPricing {
                pricing_type: p.kind.as_deref(),
                category: p.category.as_deref(),
                market: Some(market_of(status.recipient_id.as_deref().unwrap_or_default())),
            }),
            charge: charge.as_ref(),
        };
        if outbox::apply_status(&app.db, &business_id, &message_key, &report).await? {
            received.statuses += 1;
        } else {
            received.ignored += 1;
        }
    }
    if received.unrouted > 0 {
        let numbers: Vec<&str> = routes.iter().filter(|(_, b)| b.is_none()).map(|(n, _)| n.as_str()).collect();
        tracing::warn!(
            unrouted = received.unrouted,
            numbers = ?numbers,
            "a WhatsApp delivery had items for numbers no business has; they were not stored"
        );
    }
    Ok((StatusCode::OK, axum::Json(received)).into_response())
}
