//! Invoices: the live draft of a period (priced from the ledger at the
//! minute it is asked), the finaliser that closes a period into an invoice,
//! and the one transition of an invoice's payment status.
//!
//! *Finalising* a business's period, in one transaction: take the operator's
//! next number (the counter row stays locked until commit, so numbers are
//! gapless and finalisations one at a time), link every ledger row of the
//! business that occurred before the period's end and is on no invoice
//! (`invoice_usage`), price the period from exactly those rows, turn the
//! linked rows of earlier, closed periods into delta lines (each earlier
//! period priced again with them, minus what was billed of it before), add
//! the tax, and write the invoice whole. A second finalisation of the same
//! period finds it and writes nothing; the database refuses any change of
//! what was written.
//!
//! A period is due once its end plus the grace period (`billing.grace`) has
//! passed; [`finalize_due`] runs on every node (the supervisor's `invoice
//! finaliser`), safe at once on many.

use serde::Serialize;
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::Billing;
use super::period::Period;
use super::plans::{self, WHATSAPP};
use super::rating::{self, ChannelSegment, PricedLine, Rated, RatingInput};
use crate::domain::billing::{InvoiceStatus, Metric, PlanTerms};
use crate::store::invoices::{self, Invoice, InvoiceLine, NewInvoice};
use crate::store::usage::{self, Covering, UsageFact, UsageTotal};
use crate::store::{StoreError, StoreResult, businesses, is_unique_violation};

/// Why a billing request failed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// The invoice's payment status cannot make that change.
    #[error("the invoice is {from}; it cannot become {to}")]
    Illegal { from: InvoiceStatus, to: InvoiceStatus },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<String> for BillingError {
    fn from(message: String) -> Self {
        BillingError::Invalid(message)
    }
}

/// A priced period not (yet) finalised: what the business owes so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Draft {
    pub period: String,
    pub period_start: i64,
    pub period_end: i64,
    pub currency: String,
    pub plan_version_id: String,
    pub lines: Vec<InvoiceLine>,
    pub subtotal_minor: i64,
    pub tax_label: String,
    pub tax_rate_bps: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    /// Usage that could not be priced in the plan's currency, for a person to look at.
    pub unpriced: Vec<String>,
}

/// Which ledger rows a pricing reads.
#[derive(Debug, Clone, Copy)]
enum Rows<'a> {
    /// Every row that occurred in the period.
    All,
    /// The rows linked to any invoice.
    Invoiced,
    /// The rows linked to this invoice.
    Of(&'a str),
    /// The rows linked to another invoice than this one.
    OtherThan(&'a str),
}

impl Rows<'_> {
    fn covering(&self, from: i64, to: i64) -> Covering<'_> {
        match *self {
            Rows::All => Covering::Occurred { from, to },
            Rows::Invoiced => Covering::AnyInvoice { from, to },
            Rows::Of(invoice_id) => Covering::Invoiced { invoice_id, from, to },
            Rows::OtherThan(invoice_id) => Covering::OtherInvoices { invoice_id, from, to },
        }
    }
}

/// A priced period, with what priced it.
struct Priced {
    rated: Rated,
    plan_version_id: String,
    tax_label: String,
    tax_rate_bps: i64,
    due_days: i64,
    terms: PlanTerms,
}

/// Prices `period` of a business from `rows`; `None` when no plan prices it.
async fn price(
    conn: &mut AnyConnection,
    business_id: &str,
    period: &Period,
    rows: Rows<'_>,
) -> StoreResult<Option<Priced>> {
    let assignments = crate::store::plans::assignments_of(conn, business_id).await?;
    let Some(assignment) = plans::assignment_for(&assignments, period.end) else { return Ok(None) };
    let versions = crate::store::plans::versions_of(conn, &assignment.plan_id).await?;
    let Some(plan) = plans::version_for(&versions, assignment, period.start) else { return Ok(None) };
    let all = usage::totals(conn, business_id, rows.covering(period.start, period.end)).await?;
    let mut counted: Vec<UsageTotal> = all.into_iter().filter(|t| t.metric != Metric::WhatsappDelivered).collect();
    // The photos of an open period are counted live; its finalisation writes
    // the count to the ledger (see `photos_at_end`).
    if matches!(rows, Rows::All)
        && period.end > crate::ids::now_ms()
        && !counted.iter().any(|t| t.metric == Metric::PhotosStored)
    {
        let photos = crate::store::images::count_before(conn, business_id, period.end).await?;
        if photos > 0 {
            counted.push(UsageTotal {
                metric: Metric::PhotosStored,
                currency: None,
                market: None,
                category: None,
                events: 1,
                quantity: photos,
            });
        }
    }
    let cards = crate::store::plans::rate_cards(conn, WHATSAPP).await?;
    let mut segment_usage = Vec::new();
    for (card, prices, from, to) in plans::segments(&cards, period.start, period.end) {
        let totals = usage::totals(conn, business_id, rows.covering(from, to)).await?;
        let delivered: Vec<UsageTotal> = totals.into_iter().filter(|t| t.metric == Metric::WhatsappDelivered).collect();
        segment_usage.push((card, prices, delivered));
    }
    let channel: Vec<ChannelSegment<'_>> =
        segment_usage.iter().map(|(card, prices, usage)| ChannelSegment { card, prices, usage }).collect();
    let rated = rating::rate(&RatingInput { period: &period.label, plan, usage: &counted, channel: &channel });
    Ok(Some(Priced {
        rated,
        plan_version_id: plan.id.clone(),
        tax_label: assignment.tax_label.clone(),
        tax_rate_bps: assignment.tax_rate_bps,
        due_days: plan.terms.due_days,
        terms: plan.terms.clone(),
    }))
}

/// Delta lines for every period from the one `earliest` falls in up to
/// (not including) `current`: `after` rows priced minus `before` rows priced.
async fn deltas_since(
    billing: &Billing,
    conn: &mut AnyConnection,
    business_id: &str,
    earliest: i64,
    current: &Period,
    before: Rows<'_>,
    after: Rows<'_>,
) -> Result<Vec<PricedLine>, BillingError> {
    let mut lines = Vec::new();
    let mut period = billing.calendar().containing(earliest)?;
    while period.start < current.start {
        let then = price(conn, business_id, &period, before).await?;
        let now = price(conn, business_id, &period, after).await?;
        if let Some(now) = now {
            let then = then.map(|p| p.rated).unwrap_or_else(|| Rated {
                currency: now.rated.currency.clone(),
                lines: Vec::new(),
                subtotal_minor: 0,
                unpriced: Vec::new(),
            });
            lines.extend(rating::deltas(&then, &now.rated));
        }
        period = billing.calendar().next(&period)?;
    }
    Ok(lines)
}

fn numbered(lines: Vec<PricedLine>) -> Vec<InvoiceLine> {
    lines
        .into_iter()
        .zip(1_i64..)
        .map(|(line, position)| InvoiceLine {
            position,
            kind: line.kind,
            line_key: line.line_key,
            description: line.description,
            usage_period: line.usage_period,
            quantity: line.quantity,
            amount_minor: line.amount_minor,
            priced_by: line.priced_by,
        })
        .collect()
}

/// The business's draft of the period `at` falls in, with the late usage of
/// closed periods it would carry; `None` when no plan prices that period.
pub async fn draft(billing: &Billing, business_id: &str, at: i64) -> Result<Option<Draft>, BillingError> {
    Ok(draft_with_terms(billing, business_id, at).await?.map(|(draft, _)| draft))
}

/// [`draft`], with the terms of the plan version that priced it.
pub async fn draft_with_terms(
    billing: &Billing,
    business_id: &str,
    at: i64,
) -> Result<Option<(Draft, PlanTerms)>, BillingError> {
    let period = billing.calendar().containing(at)?;
    let mut conn = billing.db().pool().acquire().await.map_err(StoreError::from)?;
    let Some(priced) = price(&mut conn, business_id, &period, Rows::All).await? else { return Ok(None) };
    let mut lines = priced.rated.lines;
    if let Some(earliest) = usage::earliest_uninvoiced(&mut conn, business_id, period.start).await? {
        lines
            .extend(deltas_since(billing, &mut conn, business_id, earliest, &period, Rows::Invoiced, Rows::All).await?);
    }
    let subtotal_minor = lines.iter().map(|l| l.amount_minor).fold(0_i64, i64::saturating_add);
    let tax_minor = rating::tax(subtotal_minor, priced.tax_rate_bps);
    let draft = Draft {
        period: period.label,
        period_start: period.start,
        period_end: period.end,
        currency: priced.rated.currency,
        plan_version_id: priced.plan_version_id,
        lines: numbered(lines),
        subtotal_minor,
        tax_label: priced.tax_label,
        tax_rate_bps: priced.tax_rate_bps,
        tax_minor,
        total_minor: subtotal_minor.saturating_add(tax_minor),
        unpriced: priced.rated.unpriced,
    };
    Ok(Some((draft, priced.terms)))
}

/// Finalises the business's invoice of `period` (see the module's doc).
/// `None` when it was already finalised or no plan prices the period.
pub async fn finalize(
    billing: &Billing,
    business_id: &str,
    period: &Period,
    now: i64,
) -> Result<Option<String>, BillingError> {
    let db = billing.db();
    // Read before the transaction: SQLite has one connection.
    let business = businesses::get(db, business_id).await?.ok_or(BillingError::NotFound("the business"))?;
    let mut tx = db.pool().begin().await.map_err(StoreError::from)?;
    let number = invoices::take_number(&mut tx).await?;
    if invoices::exists(&mut tx, business_id, &period.label).await? {
        tx.rollback().await.map_err(StoreError::from)?;
        return Ok(None);
    }
    let invoice_id = invoices::new_id();
    if billing.config().enabled {
        photos_at_end(&mut tx, business_id, period).await?;
    }
    usage::link_uninvoiced(&mut tx, business_id, period.end, &invoice_id).await?;
    let Some(priced) = price(&mut tx, business_id, period, Rows::Of(&invoice_id)).await? else {
        tx.rollback().await.map_err(StoreError::from)?;
        return Ok(None);
    };
    let mut lines = priced.rated.lines;
    if let Some(earliest) = usage::earliest_linked(&mut tx, &invoice_id).await?.filter(|e| *e < period.start) {
        let late =
            deltas_since(billing, &mut tx, business_id, earliest, period, Rows::OtherThan(&invoice_id), Rows::Invoiced)
                .await?;
        lines.extend(late);
    }
    let lines = numbered(lines);
    let subtotal_minor = lines.iter().map(|l| l.amount_minor).fold(0_i64, i64::saturating_add);
    let tax_minor = rating::tax(subtotal_minor, priced.tax_rate_bps);
    let new = NewInvoice {
        id: &invoice_id,
        business_id,
        period: &period.label,
        period_start: period.start,
        period_end: period.end,
        currency: &priced.rated.currency,
        subtotal_minor,
        tax_label: &priced.tax_label,
        tax_rate_bps: priced.tax_rate_bps,
        tax_minor,
        total_minor: subtotal_minor.saturating_add(tax_minor),
        operator_name: &billing.config().operator_name,
        business_name: &business.name,
        plan_version_id: Some(&priced.plan_version_id),
        lines: &lines,
        finalized_at: now,
        due_at: now.saturating_add(priced.due_days.saturating_mul(24 * 60 * 60 * 1000)),
    };
    match invoices::insert(&mut tx, number, &new).await {
        Ok(()) => {}
        // Another node finalised it between our check and our insert.
        Err(StoreError::Database(e)) if is_unique_violation(&e) => {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(business = %business_id, period = %period.label, number, "invoice finalised");
    Ok(Some(invoice_id))
}

/// Writes the photos the business stores at the end of `period` to the
/// ledger (one `photos_stored` row keyed by the period, in the finalising
/// transaction, so the invoice prices and links it), when it stores any.
async fn photos_at_end(conn: &mut AnyConnection, business_id: &str, period: &Period) -> StoreResult<()> {
    let photos = crate::store::images::count_before(conn, business_id, period.end).await?;
    if photos > 0 {
        let fact = UsageFact {
            occurred_at: period.end.saturating_sub(1),
            ..UsageFact::new(business_id, Metric::PhotosStored, "photo_count", &period.label, photos)
        };
        usage::record(conn, &fact).await?;
    }
    Ok(())
}

/// What one pass of the finaliser did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Finalized {
    pub invoices: usize,
    pub past_due: usize,
    /// `usage.threshold` webhooks queued.
    pub thresholds: usize,
}

/// One pass of the finaliser at `now`: finalises every business's invoice of
/// the last period whose end plus the grace has passed, marks open invoices
/// past their due date `past_due`, and announces the thresholds businesses
/// crossed (`limits::watch_thresholds`). Nothing when billing is off.
pub async fn finalize_due(billing: &Billing, now: i64) -> Result<Finalized, BillingError> {
    let mut done = Finalized::default();
    if !billing.config().enabled {
        return Ok(done);
    }
    let grace = i64::try_from(billing.config().grace.as_millis()).unwrap_or(i64::MAX);
    let open = billing.calendar().containing(now.saturating_sub(grace))?;
    let closed = billing.calendar().containing(open.start.saturating_sub(1))?;
    let db = billing.db();
    for business_id in crate::store::plans::businesses_to_invoice(db, closed.end, &closed.label).await? {
        if finalize(billing, &business_id, &closed, now).await?.is_some() {
            done.invoices += 1;
        }
    }
    for invoice_id in invoices::overdue(db, now, 500).await? {
        if invoices::change_status(db, &invoice_id, InvoiceStatus::Open, InvoiceStatus::PastDue, now).await? {
            done.past_due += 1;
        }
    }
    done.thresholds = super::limits::watch_thresholds(billing, now).await?;
    Ok(done)
}

/// The one transition of an invoice's payment status, decided here from the
/// status read and written only if it still stands there.
pub async fn change_status(
    billing: &Billing,
    invoice_id: &str,
    to: InvoiceStatus,
    now: i64,
) -> Result<Invoice, BillingError> {
    let db = billing.db();
    for _ in 0..3 {
        let invoice = invoices::get_any(db, invoice_id).await?.ok_or(BillingError::NotFound("the invoice"))?;
        if invoice.status == to {
            return Ok(invoice);
        }
        if !invoice.status.can_become(to) {
            return Err(BillingError::Illegal { from: invoice.status, to });
        }
        if invoices::change_status(db, invoice_id, invoice.status, to, now).await? {
            return invoices::get_any(db, invoice_id).await?.ok_or(BillingError::NotFound("the invoice"));
        }
    }
    Err(StoreError::Conflict("the invoice kept changing; try again".into()).into())
}
