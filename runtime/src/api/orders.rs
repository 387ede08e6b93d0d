//! `/v1/orders`: a business reads the orders checkout created and cancels
//! unpaid ones (their stock goes back to the catalog).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Query};
use crate::App;
use crate::store::orders::{self, Order};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_orders)).routes(routes!(get_order)).routes(routes!(cancel_order))
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
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!(
                "order {} is {} with payment {}: only an open, unpaid order can be cancelled",
                order.number, order.status, order.payment_status
            ),
        ));
    }
    orders::get(&app.db, &business.id, &id).await?.map(Json).ok_or_else(|| ApiError::not_found("the order"))
}
