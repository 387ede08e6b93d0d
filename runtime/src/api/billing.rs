//! `/v1/billing/*` and `/v1/admin/billing/*`: what a business owes, and how
//! the operator prices it. A business reads its period-to-date usage, its
//! upcoming invoice (a live draft) and its finalised invoices (JSON, CSV or
//! PDF). The operator adds plan and rate-card versions (never editing one),
//! assigns plans, sets a business's billing card (charged by the invoice
//! collector), adds adjustments and credit notes, marks invoices paid, reads
//! the revenue of a period and reconciles channel charges. Every decision is
//! `billing`'s (and the collector's, in `commerce`); this module only
//! translates HTTP.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Operator, Path, Query, check_id};
use crate::App;
use crate::billing::export::{self, InvoiceDocument};
use crate::billing::invoices::{self as billed, BillingError, Draft, Finalized};
use crate::billing::ledger::{self, LedgerError};
use crate::billing::limits::SendRefused;
use crate::billing::plans::{self, WHATSAPP};
use crate::billing::reconcile::{self, ReconcileError, Reconciliation};
use crate::commerce::payments::CardInput;
use crate::commerce::payments::collection::{self, BillingCardError};
use crate::domain::billing::{InvoiceStatus, Metric, PlanTerms};
use crate::ids;
use crate::money::validate_currency;
use crate::store::collection::{self as charges, BillingCard, ChargeAttempt};
use crate::store::invoices::{self, Invoice};
use crate::store::plans::{self as stored, Assignment, PlanVersion, RateCardVersion, RatePrice};
use crate::store::usage::{self, Covering, Recorded};
use crate::store::{StoreError, businesses};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(usage_to_date))
        .routes(routes!(upcoming_invoice))
        .routes(routes!(list_invoices))
        .routes(routes!(get_invoice))
        .routes(routes!(create_plan_version, list_plan_versions))
        .routes(routes!(create_rate_card, list_rate_cards))
        .routes(routes!(assign_plan))
        .routes(routes!(add_adjustment))
        .routes(routes!(mark_paid))
        .routes(routes!(set_billing_card))
        .routes(routes!(invoice_charges))
        .routes(routes!(reconciliation))
        .routes(routes!(revenue_report))
        .routes(routes!(finalize_now))
}

impl From<BillingError> for ApiError {
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::Invalid(message) => ApiError::invalid(message),
            BillingError::NotFound(what) => ApiError::not_found(what),
            BillingError::Illegal { .. } => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", error.to_string())
            }
            BillingError::Store(error) => error.into(),
        }
    }
}

/// A business-initiated billable send refused by its plan (for the send
/// paths that start conversations; replies to customers are never refused).
impl From<SendRefused> for ApiError {
    fn from(refused: SendRefused) -> Self {
        let code = match refused {
            SendRefused::OverCap => "billing_cap_reached",
            SendRefused::PastDue => "billing_past_due",
        };
        ApiError::new(StatusCode::PAYMENT_REQUIRED, code, refused.to_string())
    }
}

impl From<BillingCardError> for ApiError {
    fn from(error: BillingCardError) -> Self {
        match error {
            BillingCardError::Refused { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "card_refused", error.to_string())
            }
            BillingCardError::Provider(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable", error.to_string())
            }
            BillingCardError::Store(error) => error.into(),
        }
    }
}

impl From<ReconcileError> for ApiError {
    fn from(error: ReconcileError) -> Self {
        match error {
            ReconcileError::NoChannel | ReconcileError::NoAccount | ReconcileError::Refused(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_reconcilable", error.to_string())
            }
            ReconcileError::Unavailable(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "channel_unavailable", error.to_string())
            }
            ReconcileError::Billing(error) => error.into(),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, "usage_conflict", error.to_string()),
            LedgerError::Store(error) => error.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// `2026-11`; the current period when absent.
    pub period: Option<String>,
}

/// One metric's total.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricTotal {
    pub metric: Metric,
    /// Ledger rows.
    pub events: i64,
    /// The sum of their quantities (messages, minor units, CPU ms).
    pub quantity: i64,
}

/// One metric's total on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyTotal {
    /// The day's first millisecond in the operator's time zone.
    pub day_start: i64,
    pub metric: Metric,
    pub events: i64,
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    pub period: String,
    pub period_start: i64,
    pub period_end: i64,
    pub metrics: Vec<MetricTotal>,
    pub daily: Vec<DailyTotal>,
}

/// The period's usage so far, by metric and by day (everything metered,
/// priced or not; prices are on the upcoming invoice).
#[utoipa::path(get, path = "/v1/billing/usage", tag = "billing", security(("business_key" = [])), params(PeriodParams),
    responses((status = 200, body = UsageReport), (status = 422, body = ErrorBody)))]
async fn usage_to_date(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<PeriodParams>,
) -> Result<Json<UsageReport>, ApiError> {
    Ok(Json(usage_report(&app, &business.id, params.period.as_deref()).await?))
}

/// The usage of `business_id` in the period `label` names (the current one
/// when `None`), by metric and by day: the API's report and the console's.
pub(crate) async fn usage_report(app: &App, business_id: &str, label: Option<&str>) -> Result<UsageReport, ApiError> {
    let calendar = app.billing.calendar();
    let period = match label {
        Some(label) => calendar.named(label),
        None => calendar.containing(ids::now_ms()),
    }
    .map_err(ApiError::invalid)?;
    let totals = {
        let mut conn = app.db.pool().acquire().await.map_err(StoreError::from)?;
        usage::totals(&mut conn, business_id, Covering::Occurred { from: period.start, to: period.end }).await?
    };
    let mut metrics: Vec<MetricTotal> = Vec::new();
    for total in totals {
        match metrics.iter_mut().find(|m| m.metric == total.metric) {
            Some(m) => {
                m.events += total.events;
                m.quantity = m.quantity.saturating_add(total.quantity);
            }
            None => metrics.push(MetricTotal { metric: total.metric, events: total.events, quantity: total.quantity }),
        }
    }
    let days = calendar.days(&period).map_err(ApiError::internal)?;
    let daily = usage::daily(&app.db, business_id, &days, period.end)
        .await?
        .into_iter()
        .map(|(day_start, t)| DailyTotal { day_start, metric: t.metric, events: t.events, quantity: t.quantity })
        .collect();
    Ok(UsageReport { period: period.label, period_start: period.start, period_end: period.end, metrics, daily })
}

/// The upcoming invoice: the current period priced now, with the late usage
/// of closed periods it will carry. 404 `no_plan` when no plan prices it.
#[utoipa::path(get, path = "/v1/billing/upcoming", tag = "billing", security(("business_key" = [])),
    responses((status = 200, body = Draft), (status = 404, body = ErrorBody)))]
async fn upcoming_invoice(State(app): State<App>, Caller(business): Caller) -> Result<Json<Draft>, ApiError> {
    billed::draft(&app.billing, &business.id, ids::now_ms())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_plan", "no plan prices the current period"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// At most 200; 50 when absent.
    pub limit: Option<u32>,
}

/// Finalised invoices, newest first.
#[utoipa::path(get, path = "/v1/billing/invoices", tag = "billing", security(("business_key" = [])), params(ListParams),
    responses((status = 200, body = Vec<Invoice>)))]
async fn list_invoices(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Invoice>>, ApiError> {
    Ok(Json(invoices::list(&app.db, &business.id, params.limit.unwrap_or(50).min(200)).await?))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Pdf,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceParams {
    /// `json` (default), `csv` or `pdf`.
    pub format: Option<Format>,
}

/// A finalised invoice with its lines, as JSON, CSV or PDF (`?format=`).
#[utoipa::path(get, path = "/v1/billing/invoices/{id}", tag = "billing", security(("business_key" = [])),
    params(("id" = String, Path), InvoiceParams),
    responses((status = 200, body = InvoiceDocument), (status = 404, body = ErrorBody)))]
async fn get_invoice(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    Query(params): Query<InvoiceParams>,
) -> Result<Response, ApiError> {
    let document = invoice_document(&app, &business.id, &id).await?;
    invoice_file(document, params.format.unwrap_or(Format::Json))
}

/// The finalised invoice `id` of `business_id` with its lines, or 404.
pub(crate) async fn invoice_document(app: &App, business_id: &str, id: &str) -> Result<InvoiceDocument, ApiError> {
    let invoice = invoices::get(&app.db, business_id, id).await?.ok_or_else(|| ApiError::not_found("the invoice"))?;
    let lines = invoices::lines(&app.db, &invoice.id).await?;
    Ok(InvoiceDocument { invoice, lines })
}

/// An invoice as the answer that serves it: JSON, or a CSV or PDF file to
/// download (the API's and the console's, the same bytes).
pub(crate) fn invoice_file(document: InvoiceDocument, format: Format) -> Result<Response, ApiError> {
    let name = format!("invoice-{}", document.invoice.number);
    let (content_type, extension, bytes) = match format {
        Format::Json => return Ok(Json(document).into_response()),
        Format::Csv => ("text/csv; charset=utf-8", "csv", export::csv(&document).map_err(ApiError::internal)?),
        Format::Pdf => ("application/pdf", "pdf", export::pdf(&document)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{extension}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanVersion {
    /// The plan's code (`starter`); a new code creates the plan.
    pub plan_id: String,
    /// The plan's name, used when the plan is new.
    pub name: Option<String>,
    /// `2026-12-01` (midnight in the operator's time zone) or an RFC 3339
    /// time; not in the past. Prices periods that start from then on.
    pub effective_from: String,
    /// ISO 4217: the currency of its fees and of its invoices.
    pub currency: String,
    pub terms: PlanTerms,
}

/// Add a version of a plan (never an edit: invoices keep naming the version that priced them).
#[utoipa::path(post, path = "/v1/admin/billing/plans", tag = "admin", security(("admin_token" = [])),
    request_body = NewPlanVersion,
    responses((status = 201, body = PlanVersion), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_plan_version(
    State(app): State<App>,
    _: Operator,
    Json(body): Json<NewPlanVersion>,
) -> Result<(StatusCode, Json<PlanVersion>), ApiError> {
    check_id("plan_id", &body.plan_id)?;
    validate_currency(&body.currency).map_err(ApiError::invalid)?;
    plans::check_terms(&body.terms).map_err(ApiError::invalid)?;
    let effective_from = app.billing.calendar().parse_time(&body.effective_from).map_err(ApiError::invalid)?;
    plans::check_effective_from(effective_from, ids::now_ms()).map_err(ApiError::invalid)?;
    let name = body.name.unwrap_or_else(|| body.plan_id.clone());
    let version =
        stored::add_version(&app.db, &body.plan_id, &name, effective_from, &body.currency, &body.terms).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

/// Every version of every plan.
#[utoipa::path(get, path = "/v1/admin/billing/plans", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = Vec<PlanVersion>)))]
async fn list_plan_versions(State(app): State<App>, _: Operator) -> Result<Json<Vec<PlanVersion>>, ApiError> {
    Ok(Json(stored::versions(&app.db).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRateCard {
    /// `2026-12-01` or an RFC 3339 time; not in the past.
    pub effective_from: String,
    /// Markup over cost, basis points (0: at cost).
    #[serde(default)]
    pub markup_bps: i64,
    /// Service messages delivered free each month per number (Meta's is
    /// 1,000 since October 2026); 0 when absent.
    #[serde(default)]
    pub free_service_per_month: i64,
    /// The prices; or give `csv` instead.
    pub prices: Option<Vec<RatePrice>>,
    /// `market,category,currency,unit_milli_minor` with a header row.
    pub csv: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateCard {
    pub card: RateCardVersion,
    pub prices: Vec<RatePrice>,
}

/// Add a version of the WhatsApp rate card, from prices or a CSV.
#[utoipa::path(post, path = "/v1/admin/billing/rate-cards", tag = "admin", security(("admin_token" = [])),
    request_body = NewRateCard,
    responses((status = 201, body = RateCard), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rate_card(
    State(app): State<App>,
    _: Operator,
    Json(body): Json<NewRateCard>,
) -> Result<(StatusCode, Json<RateCard>), ApiError> {
    let prices = match (body.prices, body.csv) {
        (Some(prices), None) => {
            for price in &prices {
                plans::check_price(price).map_err(ApiError::invalid)?;
            }
            prices
        }
        (None, Some(csv)) => plans::prices_from_csv(&csv).map_err(ApiError::invalid)?,
        _ => return Err(ApiError::invalid("give either prices or csv")),
    };
    if !(0..=100_000).contains(&body.markup_bps) {
        return Err(ApiError::invalid("markup_bps must be 0 to 100000"));
    }
    let effective_from = app.billing.calendar().parse_time(&body.effective_from).map_err(ApiError::invalid)?;
    plans::check_effective_from(effective_from, ids::now_ms()).map_err(ApiError::invalid)?;
    if !(0..=1_000_000_000).contains(&body.free_service_per_month) {
        return Err(ApiError::invalid("free_service_per_month must be 0 to 1000000000"));
    }
    let card =
        stored::add_rate_card(&app.db, WHATSAPP, effective_from, body.markup_bps, body.free_service_per_month, &prices)
            .await?;
    Ok((StatusCode::CREATED, Json(RateCard { card, prices })))
}

/// Every version of the WhatsApp rate card, oldest first.
#[utoipa::path(get, path = "/v1/admin/billing/rate-cards", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = Vec<RateCard>)))]
async fn list_rate_cards(State(app): State<App>, _: Operator) -> Result<Json<Vec<RateCard>>, ApiError> {
    let mut conn = app.db.pool().acquire().await.map_err(StoreError::from)?;
    let cards = stored::rate_cards(&mut conn, WHATSAPP).await?;
    Ok(Json(cards.into_iter().map(|(card, prices)| RateCard { card, prices }).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignPlan {
    pub plan_id: String,
    /// `2026-12-01` or an RFC 3339 time; not in the past.
    pub effective_from: String,
    /// Tax on its invoices, basis points (2200 = 22 %); 0 when absent.
    #[serde(default)]
    pub tax_rate_bps: i64,
    /// What the tax line says; `Tax` when absent.
    pub tax_label: Option<String>,
}

/// Put a business on a plan from a time on.
#[utoipa::path(post, path = "/v1/admin/businesses/{id}/plan", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), request_body = AssignPlan,
    responses((status = 201, body = Assignment), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn assign_plan(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
    Json(body): Json<AssignPlan>,
) -> Result<(StatusCode, Json<Assignment>), ApiError> {
    businesses::get(&app.db, &id).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    if !stored::plan_exists(&app.db, &body.plan_id).await? {
        return Err(ApiError::not_found("the plan"));
    }
    if !(0..=10_000).contains(&body.tax_rate_bps) {
        return Err(ApiError::invalid("tax_rate_bps must be 0 to 10000"));
    }
    let tax_label = body.tax_label.unwrap_or_else(|| "Tax".to_string());
    if tax_label.trim().is_empty() || tax_label.chars().count() > 40 {
        return Err(ApiError::invalid("tax_label must be 1 to 40 characters"));
    }
    let effective_from = app.billing.calendar().parse_time(&body.effective_from).map_err(ApiError::invalid)?;
    plans::check_effective_from(effective_from, ids::now_ms()).map_err(ApiError::invalid)?;
    let assignment =
        stored::assign(&app.db, &id, &body.plan_id, effective_from, body.tax_rate_bps, tax_label.trim()).await?;
    Ok((StatusCode::CREATED, Json(assignment)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdjustment {
    /// The operator's own key for it: a retry with the same key and amount records it once.
    pub key: String,
    /// Positive: an extra charge; negative: a credit note.
    pub amount_minor: i64,
    pub currency: String,
    /// What the business reads.
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentRecorded {
    /// False when the key was already recorded with this amount.
    pub created: bool,
}

/// Add an adjustment or credit note to a business's current period (a new
/// ledger row; nothing already billed changes).
#[utoipa::path(post, path = "/v1/admin/businesses/{id}/adjustments", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), request_body = NewAdjustment,
    responses((status = 201, body = AdjustmentRecorded), (status = 200, body = AdjustmentRecorded),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_adjustment(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
    Json(body): Json<NewAdjustment>,
) -> Result<(StatusCode, Json<AdjustmentRecorded>), ApiError> {
    businesses::get(&app.db, &id).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    check_id("key", &body.key)?;
    validate_currency(&body.currency).map_err(ApiError::invalid)?;
    if body.amount_minor == 0 || body.note.trim().is_empty() || body.note.chars().count() > 200 {
        return Err(ApiError::invalid("an adjustment needs a non-zero amount and a note of 1 to 200 characters"));
    }
    let recorded =
        ledger::adjust(&app.db, &id, &body.key, body.amount_minor, &body.currency, body.note.trim(), ids::now_ms())
            .await?;
    let created = recorded == Recorded::New;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(AdjustmentRecorded { created })))
}

/// Record that a finalised invoice was paid (open or past due to paid).
#[utoipa::path(post, path = "/v1/admin/billing/invoices/{id}/paid", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn mark_paid(State(app): State<App>, _: Operator, Path(id): Path<String>) -> Result<Json<Invoice>, ApiError> {
    Ok(Json(billed::change_status(&app.billing, &id, InvoiceStatus::Paid, ids::now_ms()).await?))
}

/// A card for a business's invoices, as typed. It goes to the payment
/// provider and nowhere else: only what the provider returns is kept. (No
/// `Debug`: nothing may print the number.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBillingCard {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
}

/// Set the card a business's invoices are charged to (replacing any before).
/// Its open invoices are charged from the collector's next pass on, and
/// again on the retry schedule after a decline.
#[utoipa::path(put, path = "/v1/admin/businesses/{id}/billing-card", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)), request_body = NewBillingCard,
    responses((status = 200, body = BillingCard), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn set_billing_card(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
    Json(body): Json<NewBillingCard>,
) -> Result<Json<BillingCard>, ApiError> {
    businesses::get(&app.db, &id).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    if body.number.len() > 32 || body.cvc.len() > 4 {
        return Err(ApiError::invalid("a card number has at most 32 characters and a security code at most 4"));
    }
    let card = CardInput { number: body.number, exp_month: body.exp_month, exp_year: body.exp_year, cvc: body.cvc };
    Ok(Json(collection::set_billing_card(&app.commerce, &id, &card).await?))
}

/// The attempts to charge an invoice to its business's billing card, first
/// first: each with its outcome (`pending`, `succeeded`, `declined` and its
/// decline code).
#[utoipa::path(get, path = "/v1/admin/billing/invoices/{id}/charges", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<ChargeAttempt>), (status = 404, body = ErrorBody)))]
async fn invoice_charges(
    State(app): State<App>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<Json<Vec<ChargeAttempt>>, ApiError> {
    invoices::get_any(&app.db, &id).await?.ok_or_else(|| ApiError::not_found("the invoice"))?;
    Ok(Json(charges::attempts_of(&app.db, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationParams {
    /// The business whose channel charges are reconciled.
    pub business: String,
    /// `2026-11`; the current period when absent.
    pub period: Option<String>,
}

/// Compare the channel charges recorded for a business in a period with what
/// the channel reports (Meta's `pricing_analytics` of its WhatsApp Business
/// Account), by market, category and pricing type; the buckets that differ
/// list the sends recorded in them.
#[utoipa::path(get, path = "/v1/admin/billing/reconciliation", tag = "admin", security(("admin_token" = [])),
    params(ReconciliationParams),
    responses((status = 200, body = Reconciliation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
async fn reconciliation(
    State(app): State<App>,
    _: Operator,
    Query(params): Query<ReconciliationParams>,
) -> Result<Json<Reconciliation>, ApiError> {
    businesses::get(&app.db, &params.business).await?.ok_or_else(|| ApiError::not_found("the business"))?;
    let period = match params.period {
        Some(label) => label,
        None => app.billing.calendar().containing(ids::now_ms()).map_err(ApiError::invalid)?.label,
    };
    Ok(Json(reconcile::reconcile(&app.billing, &app.config.egress, &params.business, &period).await?))
}

/// One currency's sums in a revenue report.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub invoices: i64,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueReport {
    pub period: String,
    pub invoices: Vec<Invoice>,
    pub totals: Vec<CurrencyTotal>,
}

/// Every business's finalised invoice of a period, with sums per currency.
#[utoipa::path(get, path = "/v1/admin/billing/revenue", tag = "admin", security(("admin_token" = [])),
    params(PeriodParams), responses((status = 200, body = RevenueReport), (status = 422, body = ErrorBody)))]
async fn revenue_report(
    State(app): State<App>,
    _: Operator,
    Query(params): Query<PeriodParams>,
) -> Result<Json<RevenueReport>, ApiError> {
    let calendar = app.billing.calendar();
    let period = match &params.period {
        Some(label) => calendar.named(label),
        None => calendar.containing(ids::now_ms()),
    }
    .map_err(ApiError::invalid)?;
    let found = invoices::of_period(&app.db, &period.label).await?;
    let mut totals: Vec<CurrencyTotal> = Vec::new();
    for invoice in &found {
        let index = match totals.iter().position(|t| t.currency == invoice.currency) {
            Some(index) => index,
            None => {
                totals.push(CurrencyTotal {
                    currency: invoice.currency.clone(),
                    invoices: 0,
                    subtotal_minor: 0,
                    tax_minor: 0,
                    total_minor: 0,
                    paid_minor: 0,
                });
                totals.len() - 1
            }
        };
        let total = &mut totals[index];
        total.invoices += 1;
        total.subtotal_minor = total.subtotal_minor.saturating_add(invoice.subtotal_minor);
        total.tax_minor = total.tax_minor.saturating_add(invoice.tax_minor);
        total.total_minor = total.total_minor.saturating_add(invoice.total_minor);
        if invoice.status == InvoiceStatus::Paid {
            total.paid_minor = total.paid_minor.saturating_add(invoice.total_minor);
        }
    }
    totals.sort_by(|a, b| a.currency.cmp(&b.currency));
    Ok(Json(RevenueReport { period: period.label, invoices: found, totals }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinalizeReport {
    pub invoices: usize,
    pub past_due: usize,
    pub thresholds: usize,
}

/// Run the finaliser now (it also runs on its own every minute): closes the
/// periods whose grace has passed and marks overdue invoices past due.
#[utoipa::path(post, path = "/v1/admin/billing/finalize", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = FinalizeReport)))]
async fn finalize_now(State(app): State<App>, _: Operator) -> Result<Json<FinalizeReport>, ApiError> {
    let Finalized { invoices, past_due, thresholds } = billed::finalize_due(&app.billing, ids::now_ms()).await?;
    Ok(Json(FinalizeReport { invoices, past_due, thresholds }))
}
