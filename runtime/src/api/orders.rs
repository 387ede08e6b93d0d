//! `/v1/orders`: a business reads the orders checkout created and cancels
//! unpaid ones (their stock goes back to the catalog).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Query};
use crate::App;
use crate::plugin::bindings::{Money as WitMoney, OrderRef, ShopEvent};
use crate::store::idempotency::{self, Claim};
use crate::store::orders::{self, Order};
use crate::store::payments::{self, Payment};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(ship_order))
        .routes(routes!(deliver_order))
        .routes(routes!(refund_order))
        .routes(routes!(list_payments))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderParams {
    /// At most 200; 50 when absent.
    pub limit: Option<u32>,
}

/// Orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", security(("business_key" = [])), params(OrderParams),
    responses((status = 200, body = Vec<Order>)))]
async fn list_orders(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<OrderParams>,
) -> Result<Json<Vec<Order>>, ApiError> {
    Ok(Json(orders::list(&app.db, &business.id, params.limit.unwrap_or(50).min(200)).await?))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    orders::get(&app.db, &business.id, &id).await?.map(Json).ok_or_else(|| ApiError::not_found("the order"))
}

/// Cancel an open, unpaid order; its reserved stock returns to the catalog.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_order(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let order = orders::get(&app.db, &business.id, &id).await?.ok_or_else(|| ApiError::not_found("the order"))?;
    if !orders::cancel_unpaid(&app.db, &business.id, &id).await? {
        return Err(illegal_transition(&order, "only an open, unpaid order can be cancelled"));
    }
    let cancelled = order_of(&app, &business.id, &id).await?;
    crate::webhooks::notify_order(&app.db, &business.id, "order.cancelled", &cancelled).await;
    Ok(Json(cancelled))
}

/// The refusal of a change the order's state does not allow, saying where it stands.
fn illegal_transition(order: &Order, rule: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "illegal_transition",
        format!(
            "order {} is {} (payment {}, fulfilment {}): {rule}",
            order.number, order.status, order.payment_status, order.fulfillment_status
        ),
    )
}

async fn order_of(app: &App, business_id: &str, id: &str) -> Result<Order, ApiError> {
    orders::get(&app.db, business_id, id).await?.ok_or_else(|| ApiError::not_found("the order"))
}

/// Mark a paid order shipped; the shop's bot is told (`order-shipped`) and
/// tells the customer.
#[utoipa::path(post, path = "/v1/orders/{id}/ship", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn ship_order(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let order = order_of(&app, &business.id, &id).await?;
    if !payments::mark_shipped(&app.db, &business.id, &id).await? {
        return Err(illegal_transition(&order, "only an open, paid, unfulfilled order can be shipped"));
    }
    let shipped = order_of(&app, &business.id, &id).await?;
    let event = ShopEvent::OrderShipped(OrderRef {
        order_id: shipped.id.clone(),
        total: WitMoney { amount_minor: shipped.total_minor, currency: shipped.currency.clone() },
    });
    crate::webhooks::notify_order(&app.db, &business.id, "order.shipped", &shipped).await;
    super::pay::tell_bot(&app, &business.id, &shipped, event).await;
    Ok(Json(shipped))
}

/// Mark a shipped order delivered; the order is then completed.
#[utoipa::path(post, path = "/v1/orders/{id}/deliver", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn deliver_order(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let order = order_of(&app, &business.id, &id).await?;
    if !payments::mark_delivered(&app.db, &business.id, &id).await? {
        return Err(illegal_transition(&order, "only a shipped order can be delivered"));
    }
    let delivered = order_of(&app, &business.id, &id).await?;
    crate::webhooks::notify_order(&app.db, &business.id, "order.delivered", &delivered).await;
    Ok(Json(delivered))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units to give back; at most what was captured and not yet refunded.
    pub amount_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Refunded {
    pub order: Order,
    pub payment: Payment,
}

/// Refund part or all of a paid order. Requires an `Idempotency-Key` header: a
/// retry with the same key and body replays the first answer, never refunds twice.
#[utoipa::path(post, path = "/v1/orders/{id}/refunds", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = RefundRequest,
    responses((status = 200, body = Refunded), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn refund_order(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<RefundRequest>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "send an Idempotency-Key header (1 to 255 characters)",
            )
        })?
        .to_string();
    order_of(&app, &business.id, &id).await?;
    let scope = format!("refund:{}:{id}", business.id);
    let fingerprint = body.amount_minor.to_string();
    match idempotency::claim(&app.db, &scope, &key, &fingerprint).await? {
        Claim::Claimed => {}
        Claim::Replay { status_code, response } => {
            let status = StatusCode::from_u16(status_code).unwrap_or(StatusCode::OK);
            let value: serde_json::Value = serde_json::from_str(&response).unwrap_or_default();
            return Ok((status, axum::Json(value)).into_response());
        }
        Claim::InFlight => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "request_in_flight",
                "a request with this Idempotency-Key is still being processed",
            ));
        }
        Claim::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            ));
        }
    }
    let outcome = refund(&app, &business.id, &id, body.amount_minor).await;
    let (status, value) = match &outcome {
        Ok(refunded) => (StatusCode::OK, serde_json::to_value(refunded).map_err(ApiError::internal)?),
        Err(error) if error.status.is_client_error() => {
            (error.status, serde_json::json!({"error": {"code": error.code, "message": error.message}}))
        }
        Err(_) => {
            // A server-side failure: let the client retry with the same key.
            idempotency::release(&app.db, &scope, &key).await?;
            return outcome.map(|r| Json(r).into_response());
        }
    };
    idempotency::complete(&app.db, &scope, &key, status.as_u16(), &value.to_string()).await?;
    Ok((status, axum::Json(value)).into_response())
}

async fn refund(app: &App, business_id: &str, order_id: &str, amount_minor: i64) -> Result<Refunded, ApiError> {
    let captured =
        payments::of_order(&app.db, business_id, order_id).await?.into_iter().find(|p| p.status == "captured");
    let Some(payment) = captured else {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_paid", "the order has no captured payment to refund"));
    };
    let left = payment.captured_minor - payment.refunded_minor;
    if amount_minor <= 0 || amount_minor > left {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refund_exceeds_captured",
            format!("a refund must be between 1 and the {left} minor units captured and not yet refunded"),
        ));
    }
    let reference = payment.provider_reference.clone().unwrap_or_default();
    app.payments
        .refund(&reference, amount_minor)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "processor_error", e.to_string()))?;
    let payment = payments::add_refund(&app.db, business_id, order_id, amount_minor).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "refund_exceeds_captured",
            "a concurrent refund used up the captured amount",
        )
    })?;
    let order = order_of(app, business_id, order_id).await?;
    crate::webhooks::notify_order(&app.db, business_id, "order.refunded", &order).await;
    Ok(Refunded { order, payment })
}

/// An order's payment attempts, oldest first (brand and last four digits only).
#[utoipa::path(get, path = "/v1/orders/{id}/payments", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<Payment>), (status = 404, body = ErrorBody)))]
async fn list_payments(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Payment>>, ApiError> {
    order_of(&app, &business.id, &id).await?;
    Ok(Json(payments::of_order(&app.db, &business.id, &id).await?))
}
