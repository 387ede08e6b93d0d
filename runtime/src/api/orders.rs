//! `/v1/orders`: a business reads the orders checkout created (with their
//! payments and timeline), cancels unpaid ones (their stock goes back to the
//! catalog), ships, delivers and refunds. Every change goes through
//! `commerce` (the lifecycle's owner); this module only translates HTTP.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Query};
use crate::App;
use crate::commerce::orders::{self, OrderAction};
use crate::commerce::payments::refund::{self, RefundError, Refunded};
use crate::store::StoreError;
use crate::store::businesses::Business;
use crate::store::idempotency::{self, Answer, Outcome, Refusal};
use crate::store::orders::{self as stored, Order, OrderEvent};
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
        .routes(routes!(order_timeline))
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
    Ok(Json(stored::list(&app.db, &business.id, params.limit.unwrap_or(50).min(200)).await?))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    stored::get(&app.db, &business.id, &id).await?.map(Json).ok_or_else(|| ApiError::not_found("the order"))
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
    Ok(Json(orders::change(&app.commerce, &business.id, &id, OrderAction::Cancel).await?))
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
    Ok(Json(orders::change(&app.commerce, &business.id, &id, OrderAction::Ship).await?))
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
    Ok(Json(orders::change(&app.commerce, &business.id, &id, OrderAction::Deliver).await?))
}

/// Every change of an order (created, paid, a failed payment, shipped,
/// delivered, refunded, cancelled or expired), oldest first.
#[utoipa::path(get, path = "/v1/orders/{id}/timeline", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<OrderEvent>), (status = 404, body = ErrorBody)))]
async fn order_timeline(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<OrderEvent>>, ApiError> {
    order_of(&app, &business.id, &id).await?;
    Ok(Json(stored::timeline(&app.db, &business.id, &id).await?))
}

pub(super) async fn order_of(app: &App, business_id: &str, id: &str) -> Result<Order, ApiError> {
    stored::get(&app.db, business_id, id).await?.ok_or_else(|| ApiError::not_found("the order"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units to give back; at most what was captured and not yet refunded.
    pub amount_minor: i64,
}

/// Refund part or all of a paid order. Requires an `Idempotency-Key` header: a
/// retry with the same key and body replays the first answer, never refunds
/// twice (also when the first try was cut off: its refund is resumed).
#[utoipa::path(post, path = "/v1/orders/{id}/refunds", tag = "orders", security(("business_key" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = RefundRequest,
    responses((status = 200, body = Refunded), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
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
    let (status, value) = refund_once(&app, &business, &id, &key, body.amount_minor).await?;
    Ok((status, axum::Json(value)).into_response())
}

/// Refunds `amount_minor` of order `id` once per idempotency `key` (a retry
/// with the same key and amount replays the first answer; one cut off is
/// resumed): the API's refund and the console's. The answer's status and
/// body, an error body included.
pub(super) async fn refund_once(
    app: &App,
    business: &Business,
    id: &str,
    key: &str,
    amount_minor: i64,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    order_of(app, &business.id, id).await?;
    let scope = format!("refund:{}:{id}", business.id);
    let fingerprint = amount_minor.to_string();
    let lease = app.commerce.config().payment_lease;
    let commerce = &app.commerce;
    let answered = idempotency::once(&app.db, &scope, key, &fingerprint, lease, |resumed| async move {
        let request = refund::RefundRequest { amount_minor, key: Some(key), resumed };
        let refunded = refund::refund(commerce, &business.id, id, request).await;
        let (status, value) = match refunded {
            Ok(refunded) => {
                (StatusCode::OK, serde_json::to_value(&refunded).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            }
            Err(RefundError::Store(e)) => return Err(e),
            Err(error) => {
                let error = ApiError::from(error);
                let value = serde_json::json!({"error": {"code": error.code, "message": error.message}});
                if error.status.is_server_error() || error.code == "request_in_flight" {
                    // The provider failed, or the refund is still another
                    // request's: the same request may be sent again.
                    return Ok(Outcome::Retryable(Answer {
                        status_code: error.status.as_u16(),
                        body: value.to_string(),
                    }));
                }
                (error.status, value)
            }
        };
        Ok(Outcome::Final(Answer { status_code: status.as_u16(), body: value.to_string() }))
    })
    .await?;
    let answer = answered.map_err(|refusal| match refusal {
        Refusal::InFlight => ApiError::new(
            StatusCode::CONFLICT,
            "request_in_flight",
            "a request with this Idempotency-Key is still being processed",
        ),
        Refusal::Mismatch => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ),
    })?;
    let status = StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::OK);
    let value: serde_json::Value = serde_json::from_str(&answer.body).map_err(ApiError::internal)?;
    Ok((status, value))
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
