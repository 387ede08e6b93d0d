//! `/v1/customers/{customer}/…` and `/v1/admin/erase`: a customer's data
//! rights. A business exports everything it holds about one customer (JSON,
//! machine-readable; or CSV to read) and erases them on their request, naming
//! them by pseudonym or by any handle (phone number, business-scoped user id);
//! the operator erases a phone number's customer in every shop. What an
//! erasure does is `store::customer_data`'s; this module translates HTTP.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Operator, Path, Query};
use crate::App;
use crate::store::customer_data::{self, CustomerExport, Erasure};
use crate::store::{audit, businesses};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(export_customer))
        .routes(routes!(erase_customer))
        .routes(routes!(erase_everywhere))
        .routes(routes!(own_data))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OwnDataParams {
    /// The token of the link the customer was sent in the chat.
    pub token: String,
}

/// The export a customer asked for in the chat, by the link they were sent
/// (valid 15 minutes; the token is in the query string, never in logged paths).
#[utoipa::path(get, path = "/v1/customer-data", tag = "customers", params(OwnDataParams),
    responses((status = 200, description = "the customer's export, as JSON"), (status = 404, body = ErrorBody)))]
async fn own_data(State(app): State<App>, Query(params): Query<OwnDataParams>) -> Result<Response, ApiError> {
    let hash = crate::ids::hash_secret(&params.token);
    let (business_id, customer_id) = customer_data::link(&app.db, &hash, crate::ids::now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("the link (it may have expired)"))?;
    let export = customer_data::export(&app.db, &business_id, &customer_id).await?;
    record(&app, &business_id, "customer", "customer.exported", &customer_id).await?;
    let bytes = serde_json::to_vec_pretty(&export).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"my-data.json\"".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default) or `csv`.
    pub format: Option<ExportFormat>,
}

/// A handle or pseudonym as a path names it: 1 to 128 characters.
fn check_reference(reference: &str) -> Result<(), ApiError> {
    if reference.trim().is_empty() || reference.chars().count() > 128 || reference.contains('\0') {
        return Err(ApiError::invalid("a customer is named by a pseudonym or a handle of 1 to 128 characters"));
    }
    Ok(())
}

/// The customer `reference` names in the caller's business, or 404.
pub(crate) async fn customer(app: &App, business_id: &str, reference: &str) -> Result<String, ApiError> {
    check_reference(reference)?;
    customer_data::find(&app.db, business_id, reference).await?.ok_or_else(|| ApiError::not_found("the customer"))
}

/// Everything the shop holds about a customer: handles, conversations with
/// every message, orders with their payments (card brand and last 4 digits
/// only), consents. JSON (`bottega-customer-export/1`), or CSV to read.
#[utoipa::path(get, path = "/v1/customers/{customer}/export", tag = "customers", security(("business_key" = [])),
    params(("customer" = String, Path, description = "a pseudonym (`cus_…`) or a handle (phone number, user id)"),
        ExportParams),
    responses((status = 200, description = "the export, as JSON or CSV"), (status = 404, body = ErrorBody)))]
async fn export_customer(
    State(app): State<App>,
    Caller(business): Caller,
    Path(reference): Path<String>,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    export_file(&app, &business.id, &reference, params.format.unwrap_or(ExportFormat::Json), "business").await
}

/// The export of the customer `reference` names in `business_id`, recorded
/// in its audit trail, as the file to download: the API's and the console's.
pub(crate) async fn export_file(
    app: &App,
    business_id: &str,
    reference: &str,
    format: ExportFormat,
    actor: &str,
) -> Result<Response, ApiError> {
    let customer_id = customer(app, business_id, reference).await?;
    let export = customer_data::export(&app.db, business_id, &customer_id).await?;
    record(app, business_id, actor, "customer.exported", &customer_id).await?;
    let (content_type, extension, bytes) = match format {
        ExportFormat::Json => {
            let bytes = serde_json::to_vec_pretty(&export).map_err(ApiError::internal)?;
            ("application/json", "json", bytes)
        }
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv", csv(&export).map_err(ApiError::internal)?),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{customer_id}.{extension}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// Erases a customer on their request: their key is destroyed (nothing
/// sealed under it opens again), their handles, texts, queued sends, the
/// plugin's entries naming them and their web chat sessions go; their orders
/// stay for the law, under a pseudonym that leads to no one. The shop is sent
/// a signed `customer.erased` webhook to erase its own copies.
#[utoipa::path(post, path = "/v1/customers/{customer}/erase", tag = "customers", security(("business_key" = [])),
    params(("customer" = String, Path, description = "a pseudonym (`cus_…`) or a handle (phone number, user id)")),
    responses((status = 200, body = Erasure), (status = 404, body = ErrorBody)))]
async fn erase_customer(
    State(app): State<App>,
    Caller(business): Caller,
    Path(reference): Path<String>,
) -> Result<Json<Erasure>, ApiError> {
    Ok(Json(erase(&app, &business.id, &reference, "business").await?))
}

/// Erases the customer `reference` names in `business_id` and records it in
/// its audit trail as `actor`'s (`business` for an API key, a staff member's
/// id in the console): the API's erasure and the console's.
pub(crate) async fn erase(app: &App, business_id: &str, reference: &str, actor: &str) -> Result<Erasure, ApiError> {
    let customer_id = customer(app, business_id, reference).await?;
    let erasure = customer_data::erase(&app.db, business_id, &customer_id).await?;
    record(app, business_id, actor, "customer.erased", &customer_id).await?;
    Ok(erasure)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseEverywhere {
    /// The person's phone number (any formatting).
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedEverywhere {
    /// One erasure per shop that knew the number.
    pub erased: Vec<ErasedIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedIn {
    pub business_id: String,
    pub erasure: Erasure,
}

/// The operator erases a phone number's customer in every shop on this
/// runtime (each shop is sent its `customer.erased` webhook).
#[utoipa::path(post, path = "/v1/admin/erase", tag = "admin", security(("admin_token" = [])),
    request_body = EraseEverywhere,
    responses((status = 200, body = ErasedEverywhere), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn erase_everywhere(
    State(app): State<App>,
    _: Operator,
    Json(body): Json<EraseEverywhere>,
) -> Result<Json<ErasedEverywhere>, ApiError> {
    let digits = body.phone.chars().filter(char::is_ascii_digit).count();
    if !(5..=20).contains(&digits) || body.phone.chars().count() > 64 {
        return Err(ApiError::invalid("phone must be a phone number of 5 to 20 digits"));
    }
    let mut erased = Vec::new();
    for business in businesses::list(&app.db).await? {
        if let Some(customer_id) = crate::store::customer_handles::find(&app.db, &business.id, &body.phone).await? {
            let erasure = customer_data::erase(&app.db, &business.id, &customer_id).await?;
            record(&app, &business.id, "operator", "customer.erased", &customer_id).await?;
            erased.push(ErasedIn { business_id: business.id, erasure });
        }
    }
    Ok(Json(ErasedEverywhere { erased }))
}

/// Records a data-rights request in the business's audit trail (the pseudonym, never the handle).
async fn record(app: &App, business_id: &str, actor: &str, action: &str, customer_id: &str) -> Result<(), ApiError> {
    let entry = audit::Entry { business_id, actor, action, subject: customer_id, outcome: "ok" };
    Ok(audit::append(&app.db, entry).await?)
}

/// The export as CSV: one row per handle, alias, message, staff note, order and payment.
fn csv(export: &CustomerExport) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("csv export: {e}");
    writer.write_record(["section", "id", "at", "who", "what"]).map_err(fail)?;
    for handle in &export.handles {
        writer.write_record(["handle", "", "", "", handle.as_str()]).map_err(fail)?;
    }
    for alias in &export.aliases {
        writer
            .write_record(["alias", alias.as_str(), "", "", "the same person, before they were linked"])
            .map_err(fail)?;
    }
    for exported in &export.conversations {
        for message in &exported.messages {
            let what = message
                .body
                .get("text")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| message.body.to_string());
            let who = format!("{} ({})", message.author.as_str(), message.direction.as_str());
            let at = crate::ids::rfc3339(message.created_at);
            writer
                .write_record(["message", message.id.as_str(), at.as_str(), who.as_str(), what.as_str()])
                .map_err(fail)?;
        }
        for note in &exported.notes {
            let at = crate::ids::rfc3339(note.created_at);
            writer.write_record(["note", note.id.as_str(), at.as_str(), "staff", note.text.as_str()]).map_err(fail)?;
        }
    }
    for exported in &export.orders {
        let order = &exported.order;
        let at = crate::ids::rfc3339(order.created_at);
        let total = crate::money::format(order.total_minor, &order.currency);
        let what = format!("order {} {total}", order.number);
        writer.write_record(["order", order.id.as_str(), at.as_str(), "", what.as_str()]).map_err(fail)?;
        for payment in &exported.payments {
            let card = match (&payment.card_brand, &payment.card_last4) {
                (Some(brand), Some(last4)) => format!("{brand} ending {last4}"),
                _ => String::new(),
            };
            let what = format!("{} {card}", crate::money::format(payment.amount_minor, &payment.currency));
            writer.write_record(["payment", payment.id.as_str(), "", "", what.trim()]).map_err(fail)?;
        }
    }
    writer.into_inner().map_err(|e| format!("csv export: {e}"))
}
