//! `/v1/products`: a business manages its catalog.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Path, Query, check_id};
use crate::App;
use crate::store::businesses::Business;
use crate::store::products::{self, Product, ProductInput};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create_product, list_products)).routes(routes!(
        get_product,
        replace_product,
        delete_product
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this section.
    pub section: Option<String>,
    #[serde(default)]
    pub offset: u32,
    /// At most 200; 50 when absent.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub products: Vec<Product>,
}

/// The highest price a product may have, in minor units (10^12: carts of the
/// largest size stay far from overflowing an i64).
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

/// Checks a product's fields, naming the first bad one. The id uses the safe
/// alphabet (`invalid_id`), and the photo URL is one the host never fetches.
pub fn check_product(input: &ProductInput, shop: &Business) -> Result<(), ApiError> {
    check_id("id", &input.id)?;
    if !(1..=200).contains(&input.name.trim().chars().count()) {
        return Err(ApiError::invalid("name must be 1 to 200 characters"));
    }
    if input.description.chars().count() > 2000 {
        return Err(ApiError::invalid("description must be at most 2000 characters"));
    }
    if let Some(url) = &input.photo_url
        && (!(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048)
    {
        return Err(ApiError::invalid("photo_url must be an http(s) URL of at most 2048 characters"));
    }
    if !(0..=MAX_PRICE_MINOR).contains(&input.price_minor) {
        return Err(ApiError::invalid(format!(
            "price_minor must be between 0 and {MAX_PRICE_MINOR} (integer minor units)"
        )));
    }
    let texts = [&input.id, &input.name, &input.description, &input.section, &input.currency];
    if texts.into_iter().chain(input.photo_url.as_ref()).any(|t| t.contains('\0')) {
        return Err(ApiError::invalid("text fields must not contain NUL characters"));
    }
    if !shop.sells_in(&input.currency) {
        let expected = if shop.extra_currencies.is_empty() {
            format!("the shop's currency {}", shop.currency)
        } else {
            format!("one of the shop's currencies {}, {}", shop.currency, shop.extra_currencies.join(", "))
        };
        return Err(ApiError::invalid(format!("currency must be {expected}, got `{}`", input.currency)));
    }
    if input.stock < 0 {
        return Err(ApiError::invalid("stock must be zero or more"));
    }
    if !(1..=100).contains(&input.section.trim().chars().count()) {
        return Err(ApiError::invalid("section must be 1 to 100 characters"));
    }
    Ok(())
}

/// Add a product to the catalog.
#[utoipa::path(post, path = "/v1/products", tag = "catalog", security(("business_key" = [])), request_body = ProductInput,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_product(
    State(app): State<App>,
    Caller(business): Caller,
    Json(input): Json<ProductInput>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    check_product(&input, &business)?;
    let product = products::create(&app.db, &business.id, &input).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// The catalog, by section and name.
#[utoipa::path(get, path = "/v1/products", tag = "catalog", security(("business_key" = [])), params(ListParams),
    responses((status = 200, body = ProductPage)))]
async fn list_products(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<ProductPage>, ApiError> {
    let limit = params.limit.unwrap_or(50).min(200);
    let products = products::list(&app.db, &business.id, params.section.as_deref(), params.offset, limit).await?;
    Ok(Json(ProductPage { products }))
}

#[utoipa::path(get, path = "/v1/products/{id}", tag = "catalog", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
async fn get_product(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Product>, ApiError> {
    products::get(&app.db, &business.id, &id).await?.map(Json).ok_or_else(|| ApiError::not_found("the product"))
}

/// Replace a product's fields (the `id` in the body, if any, must match the path).
#[utoipa::path(put, path = "/v1/products/{id}", tag = "catalog", security(("business_key" = [])),
    params(("id" = String, Path)), request_body = ProductInput,
    responses((status = 200, body = Product), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_product(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    Json(input): Json<ProductInput>,
) -> Result<Json<Product>, ApiError> {
    if input.id != id {
        return Err(ApiError::invalid(format!("the body's id `{}` differs from the path's `{id}`", input.id)));
    }
    check_product(&input, &business)?;
    products::replace(&app.db, &business.id, &input).await?.map(Json).ok_or_else(|| ApiError::not_found("the product"))
}

#[utoipa::path(delete, path = "/v1/products/{id}", tag = "catalog", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_product(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if products::delete(&app.db, &business.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("the product"))
    }
}
