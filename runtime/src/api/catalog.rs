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
use crate::store::products::{self, InvalidProduct, Product, ProductInput};

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

/// Checks a product's fields as the catalog's rules say (`ProductInput::check`),
/// in the API's error format.
pub fn check_product(input: &ProductInput, shop: &Business) -> Result<(), ApiError> {
    input.check(shop).map_err(|invalid| match invalid {
        InvalidProduct::Id(_) => {
            check_id("id", &input.id).err().unwrap_or_else(|| ApiError::invalid(invalid.to_string()))
        }
        InvalidProduct::Field(message) => ApiError::invalid(message),
    })
}

/// Add a product to the catalog.
#[utoipa::path(post, path = "/v1/products", tag = "catalog", security(("business_key" = [])), request_body = ProductInput,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_product(
    State(app): State<App>,
    Caller(business): Caller,
    Json(input): Json<ProductInput>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    Ok((StatusCode::CREATED, Json(create(&app, &business, &input).await?)))
}

/// Checks a new product and adds it (the API's create and the console's).
pub(super) async fn create(app: &App, business: &Business, input: &ProductInput) -> Result<Product, ApiError> {
    check_product(input, business)?;
    Ok(products::create(&app.db, &business.id, input).await?)
}

/// Checks a product's new fields and replaces it (the API's and the console's).
pub(super) async fn replace(app: &App, business: &Business, input: &ProductInput) -> Result<Product, ApiError> {
    check_product(input, business)?;
    products::replace(&app.db, &business.id, input).await?.ok_or_else(|| ApiError::not_found("the product"))
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
    Ok(Json(replace(&app, &business, &input).await?))
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
