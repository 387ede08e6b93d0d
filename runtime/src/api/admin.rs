//! `/v1/admin/*`: the operator creates and manages businesses, and suspends
//! and resumes them. [`create`] and [`set_suspended`] are shared with the
//! operator console (`console/operator.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Operator, Path};
use crate::App;
use crate::domain::staff::Role;
use crate::grants::{Capability, PluginLimits};
use crate::money::validate_currency;
use crate::staff;
use crate::store::businesses::{self, Business, BusinessChanges, NewBusiness};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_business, list_businesses))
        .routes(routes!(get_business, update_business))
        .routes(routes!(rotate_api_key))
        .routes(routes!(suspend_business))
        .routes(routes!(resume_business))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBusiness {
    pub name: String,
    /// ISO 4217 code of the shop's prices.
    pub currency: String,
    /// Other ISO 4217 currencies its products may be priced in; none when absent.
    /// A cart holds products of one currency.
    pub extra_currencies: Option<Vec<String>>,
    /// Default BCP 47 locale of conversations; `en` when absent.
    pub locale: Option<String>,
    /// Capabilities its plugins may import; the node's defaults when absent.
    pub capabilities: Option<Vec<Capability>>,
    /// Per-call plugin limits; the node's defaults when absent.
    pub limits: Option<PluginLimits>,
    /// The shop owner's email: the answer then carries `owner_invitation`,
    /// the single-use link with which they join the console.
    pub owner_email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedBusiness {
    pub business: Business,
    /// Shown once: store it now. Only its hash is kept.
    pub api_key: String,
    /// With `owner_email`: the owner's invitation link (single use, 7 days),
    /// shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_invitation: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBusiness {
    pub name: Option<String>,
    /// Replaces the other currencies products may be priced in.
    pub extra_currencies: Option<Vec<String>>,
    pub locale: Option<String>,
    /// Replaces the granted capabilities.
    pub capabilities: Option<Vec<Capability>>,
    /// Limits to change; the ones left out keep their current value.
    #[schema(value_type = Object)]
    pub limits: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKey {
    /// Shown once; the previous key no longer works.
    pub api_key: String,
}

/// Valid, distinct ISO 4217 codes other than the shop's main currency.
fn check_extra_currencies(main: &str, extra: &[String]) -> Result<(), ApiError> {
    if extra.len() > 10 {
        return Err(ApiError::invalid("extra_currencies holds at most 10 currencies"));
    }
    for (i, currency) in extra.iter().enumerate() {
        validate_currency(currency).map_err(ApiError::invalid)?;
        if currency == main || extra[..i].contains(currency) {
            return Err(ApiError::invalid(format!(
                "extra_currencies names {currency} twice (or it is the main currency)"
            )));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let length = name.trim().chars().count();
    if !(1..=200).contains(&length) || name.contains('\0') {
        return Err(ApiError::invalid("name must be 1 to 200 characters, without NUL"));
    }
    Ok(())
}

fn check_locale(locale: &str) -> Result<(), ApiError> {
    if !crate::chat::is_language_tag(locale) {
        return Err(ApiError::invalid(format!("`{locale}` is not a BCP 47 language tag (e.g. en, es-MX)")));
    }
    Ok(())
}

fn check_limits(app: &App, limits: &PluginLimits) -> Result<(), ApiError> {
    limits.validate(app.config.plugins.max_memory_bytes).map_err(ApiError::invalid)
}

/// `current` with the fields of `changes` (a JSON object) laid over it.
fn merge_limits(current: &PluginLimits, changes: serde_json::Value) -> Result<PluginLimits, ApiError> {
    let serde_json::Value::Object(changes) = changes else {
        return Err(ApiError::invalid("limits must be an object"));
    };
    let mut merged = serde_json::to_value(current).map_err(ApiError::internal)?;
    if let Some(merged) = merged.as_object_mut() {
        merged.extend(changes);
    }
    serde_json::from_value(merged).map_err(|e| ApiError::invalid(format!("limits: {e}")))
}

/// Create a business; its API key is in the answer, once (and, given
/// `owner_email`, its owner's invitation link to the console).
#[utoipa::path(post, path = "/v1/admin/businesses", tag = "admin", request_body = CreateBusiness,
    security(("admin_token" = [])),
    responses((status = 201, body = CreatedBusiness), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_business(
    State(app): State<App>,
    _: Operator,
    Json(body): Json<CreateBusiness>,
) -> Result<(StatusCode, Json<CreatedBusiness>), ApiError> {
    Ok((StatusCode::CREATED, Json(create(&app, body).await?)))
}

/// Creates the business `body` describes, checked (the API's create and the
/// operator console's).
pub(super) async fn create(app: &App, body: CreateBusiness) -> Result<CreatedBusiness, ApiError> {
    check_name(&body.name)?;
    validate_currency(&body.currency).map_err(ApiError::invalid)?;
    let owner_email = body.owner_email.as_deref().map(staff::normalize_email).transpose()?;
    let extra_currencies = body.extra_currencies.unwrap_or_default();
    check_extra_currencies(&body.currency, &extra_currencies)?;
    let locale = body.locale.unwrap_or_else(|| "en".to_string());
    check_locale(&locale)?;
    let limits = body.limits.unwrap_or(app.config.plugins.default_limits);
    check_limits(app, &limits)?;
    let capabilities = body.capabilities.unwrap_or_else(|| app.config.plugins.default_capabilities.clone());
    let (business, api_key) = businesses::create(
        &app.db,
        NewBusiness {
            name: body.name.trim().to_string(),
            currency: body.currency,
            extra_currencies,
            locale,
            capabilities,
            limits,
        },
    )
    .await?;
    let owner_invitation = match owner_email {
        Some(email) => {
            let (_, token) = staff::invite(&app.db, &business.id, &email, Role::Owner).await?;
            Some(staff::invitation_link(&app.config.commerce.public_url, &token))
        }
        None => None,
    };
    Ok(CreatedBusiness { business, api_key, owner_invitation })
}

/// Every business on this node.
#[utoipa::path(get, path = "/v1/admin/businesses", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = Vec<Business>)))]
async fn list_businesses(State(app): State<App>, _: Operator) -> Result<Json<Vec<Business>>, ApiError> {
    Ok(Json(businesses::list(&app.db).await?))
}

#[utoipa::path(get, path = "/v1/admin/businesses/{id}", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Business), (status = 404, body = ErrorBody)))]
async fn get_business(State(app): State<App>, _: Operator, Path(id): Path<String>) -> Result<Json<Business>, ApiError> {
    businesses::get(&app.db, &id).await?.map(Json).ok_or_else(|| ApiError::not_found("the business"))
}

/// Change a business's name, locale, extra currencies, capabilities or plugin limits.
#[utoipa::path(patch, path = "/v1/admin/businesses/{id}", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), request_body = UpdateBusiness,
    responses((status = 200, body = Business), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_business(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
    Json(body): Json<UpdateBusiness>,
) -> Result<Json<Business>, ApiError> {
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    if let Some(locale) = &body.locale {
        check_locale(locale)?;
    }
    let current = businesses::get(&app.db, &id).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    let limits = match body.limits {
        Some(changes) => {
            let limits = merge_limits(&current.limits, changes)?;
            check_limits(&app, &limits)?;
            Some(limits)
        }
        None => None,
    };
    if let Some(extra) = &body.extra_currencies {
        check_extra_currencies(&current.currency, extra)?;
    }
    let changes = BusinessChanges {
        name: body.name.map(|n| n.trim().to_string()),
        extra_currencies: body.extra_currencies,
        locale: body.locale,
        capabilities: body.capabilities,
        limits,
    };
    businesses::update(&app.db, &id, changes).await?.map(Json).ok_or_else(|| ApiError::not_found("the business"))
}

/// Issue a new API key for a business; the old one stops working.
#[utoipa::path(post, path = "/v1/admin/businesses/{id}/api-key", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = NewApiKey), (status = 404, body = ErrorBody)))]
async fn rotate_api_key(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<Json<NewApiKey>, ApiError> {
    let api_key = businesses::rotate_api_key(&app.db, &id).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    Ok(Json(NewApiKey { api_key }))
}

/// Suspend a business: its API answers 403 `business_suspended`, its console
/// is closed, and its bot and automations say nothing (its customers'
/// messages are still kept). Suspending one already suspended changes nothing.
#[utoipa::path(post, path = "/v1/admin/businesses/{id}/suspend", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Business), (status = 404, body = ErrorBody)))]
async fn suspend_business(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<Json<Business>, ApiError> {
    Ok(Json(set_suspended(&app, &id, true).await?))
}

/// Resume a suspended business: its API, console and bot work again.
#[utoipa::path(post, path = "/v1/admin/businesses/{id}/resume", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Business), (status = 404, body = ErrorBody)))]
async fn resume_business(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<Json<Business>, ApiError> {
    Ok(Json(set_suspended(&app, &id, false).await?))
}

/// Suspends (`suspended`) or resumes business `id`, recorded in its audit
/// trail with the operator as the actor (the API's and the operator console's).
pub(super) async fn set_suspended(app: &App, id: &str, suspended: bool) -> Result<Business, ApiError> {
    let business =
        businesses::set_suspended(&app.db, id, suspended).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    let action = if suspended { "business.suspended" } else { "business.resumed" };
    let entry = crate::store::audit::Entry { business_id: id, actor: "operator", action, subject: id, outcome: "ok" };
    crate::store::audit::append(&app.db, entry).await?;
    Ok(business)
}
