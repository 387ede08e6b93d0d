//! Finalised invoices, their lines, and where their payment stands. An
//! invoice is written once, whole, by the finalising transaction (its number
//! from the operator's counter row, taken in that transaction, so numbers are
//! gapless: a rolled-back finalisation gives its number back), and never
//! changed: `store::append_only` puts triggers on both databases that
//! refuse UPDATE and DELETE of `invoices`, `invoice_lines`, `invoice_usage`
//! and the ledger itself (`usage_events`), whoever sends them. The one thing that moves, the
//! payment's status, lives in `invoice_status`.
//!
//! The business's `invoice.finalized` and `invoice.paid` webhooks are queued
//! by the transactions that finalise and mark paid.
//!
//! Drafts are never stored; `billing::invoices` prices them live.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow, Row};
use utoipa::ToSchema;

use super::{Db, StoreResult, webhooks};
use crate::domain::billing::{InvoiceStatus, LineKind};
use crate::ids;

/// The scope of the invoice counter: one sequence per operator (per database).
const NUMBER_SCOPE: &str = "operator";

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Invoice {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    /// 1, 2, 3... across the operator's invoices, without gaps.
    pub number: i64,
    /// `2026-11`: a calendar month in the operator's time zone.
    pub period: String,
    /// `[period_start, period_end)`, ms since the epoch.
    pub period_start: i64,
    pub period_end: i64,
    pub currency: String,
    pub subtotal_minor: i64,
    pub tax_label: String,
    pub tax_rate_bps: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub operator_name: String,
    pub business_name: String,
    pub plan_version_id: Option<String>,
    pub finalized_at: i64,
    #[sqlx(try_from = "String")]
    pub status: InvoiceStatus,
    pub due_at: i64,
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, FromRow)]
pub struct InvoiceLine {
    pub position: i64,
    #[sqlx(try_from = "String")]
    pub kind: LineKind,
    /// What the line prices (`messages_handled`, `channel:whatsapp:IN:marketing:rcv_...`),
    /// the same on a delta line of a later invoice.
    pub line_key: String,
    pub description: String,
    /// The period whose usage the line prices (an earlier one on a delta line).
    pub usage_period: String,
    pub quantity: i64,
    pub amount_minor: i64,
    /// The plan version or rate card version that priced it.
    pub priced_by: String,
}

/// An invoice to write, with its lines.
#[derive(Debug, Clone)]
pub struct NewInvoice<'a> {
    pub id: &'a str,
    pub business_id: &'a str,
    pub period: &'a str,
    pub period_start: i64,
    pub period_end: i64,
    pub currency: &'a str,
    pub subtotal_minor: i64,
    pub tax_label: &'a str,
    pub tax_rate_bps: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub operator_name: &'a str,
    pub business_name: &'a str,
    pub plan_version_id: Option<&'a str>,
    pub lines: &'a [InvoiceLine],
    pub finalized_at: i64,
    pub due_at: i64,
}

const COLUMNS: &str = "i.id, i.business_id, i.number, i.period, i.period_start, i.period_end, i.currency, \
     i.subtotal_minor, i.tax_label, i.tax_rate_bps, i.tax_minor, i.total_minor, i.operator_name, i.business_name, \
     i.plan_version_id, i.finalized_at, s.status, s.due_at, s.paid_at";

const FROM: &str = "FROM invoices i JOIN invoice_status s ON s.invoice_id = i.id";

/// Takes the operator's next invoice number in the caller's transaction. The
/// counter row stays locked until that transaction ends, so finalisations
/// take their numbers one at a time, and a rollback gives the number back.
pub async fn take_number(conn: &mut AnyConnection) -> StoreResult<i64> {
    let number: i64 = sqlx::query(
        "INSERT INTO invoice_numbers (scope, last_number) VALUES ($1, 1) \
         ON CONFLICT (scope) DO UPDATE SET last_number = invoice_numbers.last_number + 1 RETURNING last_number",
    )
    .bind(NUMBER_SCOPE)
    .fetch_one(&mut *conn)
    .await?
    .try_get("last_number")?;
    Ok(number)
}

/// Whether the business's invoice of `period` is already finalised.
pub async fn exists(conn: &mut AnyConnection, business_id: &str, period: &str) -> StoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM invoices WHERE business_id = $1 AND period = $2")
        .bind(business_id)
        .bind(period)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// Writes a finalised invoice, its lines and its `open` status.
pub async fn insert(conn: &mut AnyConnection, number: i64, new: &NewInvoice<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO invoices (id, business_id, number, period, period_start, period_end, currency, subtotal_minor, \
         tax_label, tax_rate_bps, tax_minor, total_minor, operator_name, business_name, plan_version_id, finalized_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(new.id)
    .bind(new.business_id)
    .bind(number)
    .bind(new.period)
    .bind(new.period_start)
    .bind(new.period_end)
    .bind(new.currency)
    .bind(new.subtotal_minor)
    .bind(new.tax_label)
    .bind(new.tax_rate_bps)
    .bind(new.tax_minor)
    .bind(new.total_minor)
    .bind(new.operator_name)
    .bind(new.business_name)
    .bind(new.plan_version_id)
    .bind(new.finalized_at)
    .execute(&mut *conn)
    .await?;
    for line in new.lines {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, kind, line_key, description, usage_period, quantity, \
             amount_minor, priced_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new.id)
        .bind(line.position)
        .bind(line.kind.as_str())
        .bind(&line.line_key)
        .bind(&line.description)
        .bind(&line.usage_period)
        .bind(line.quantity)
        .bind(line.amount_minor)
        .bind(&line.priced_by)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO invoice_status (invoice_id, status, due_at, paid_at, updated_at) VALUES ($1, $2, $3, NULL, $4)",
    )
    .bind(new.id)
    .bind(InvoiceStatus::Open.as_str())
    .bind(new.due_at)
    .bind(new.finalized_at)
    .execute(&mut *conn)
    .await?;
    // The business hears of it from the transaction that wrote it.
    let invoice = get_on(conn, new.id).await?;
    let payload = webhooks::event_payload("invoice.finalized", serde_json::json!({ "invoice": invoice }));
    webhooks::enqueue_on(&mut *conn, new.business_id, "invoice.finalized", &payload).await?;
    Ok(())
}

async fn get_on(conn: &mut AnyConnection, id: &str) -> StoreResult<Invoice> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE i.id = $1")).bind(id).fetch_one(&mut *conn).await?)
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<Invoice>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE i.business_id = $1 AND i.id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Any business's invoice, for the operator.
pub async fn get_any(db: &Db, id: &str) -> StoreResult<Option<Invoice>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE i.id = $1")).bind(id).fetch_optional(db.pool()).await?)
}

/// A business's invoices, newest first.
pub async fn list(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<Invoice>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} {FROM} WHERE i.business_id = $1 ORDER BY i.period_start DESC, i.number DESC LIMIT $2"
    ))
    .bind(business_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// Every business's invoices of `period`, by number (the revenue report).
pub async fn of_period(db: &Db, period: &str) -> StoreResult<Vec<Invoice>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE i.period = $1 ORDER BY i.number"))
        .bind(period)
        .fetch_all(db.pool())
        .await?)
}

pub async fn lines(db: &Db, invoice_id: &str) -> StoreResult<Vec<InvoiceLine>> {
    Ok(sqlx::query_as(
        "SELECT position, kind, line_key, description, usage_period, quantity, amount_minor, priced_by \
         FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?)
}

/// Moves an invoice's payment status from `from` to `to` (the caller decided
/// the change is legal); false when it no longer stands at `from`.
pub async fn change_status(
    db: &Db,
    invoice_id: &str,
    from: InvoiceStatus,
    to: InvoiceStatus,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = db.pool().begin().await?;
    if !change_status_on(&mut tx, invoice_id, from, to, now).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// [`change_status`] in the caller's transaction (collecting an invoice
/// records its charge and its new status together).
pub async fn change_status_on(
    conn: &mut AnyConnection,
    invoice_id: &str,
    from: InvoiceStatus,
    to: InvoiceStatus,
    now: i64,
) -> StoreResult<bool> {
    let changed = sqlx::query(
        "UPDATE invoice_status SET status = $3, updated_at = $4, paid_at = CASE WHEN $3 = 'paid' THEN $4 ELSE paid_at END \
         WHERE invoice_id = $1 AND status = $2",
    )
    .bind(invoice_id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Ok(false);
    }
    if to == InvoiceStatus::Paid {
        let invoice = get_on(conn, invoice_id).await?;
        let payload = webhooks::event_payload("invoice.paid", serde_json::json!({ "invoice": invoice }));
        webhooks::enqueue_on(&mut *conn, &invoice.business_id, "invoice.paid", &payload).await?;
    }
    Ok(true)
}

/// Open invoices whose due date passed.
pub async fn overdue(db: &Db, now: i64, limit: u32) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT invoice_id FROM invoice_status WHERE status = 'open' AND due_at < $1 ORDER BY due_at LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// Whether the business has an invoice past due.
pub async fn has_past_due(db: &Db, business_id: &str) -> StoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT i.id FROM invoices i JOIN invoice_status s ON s.invoice_id = i.id \
         WHERE i.business_id = $1 AND s.status = 'past_due' LIMIT 1",
    )
    .bind(business_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// A new invoice id.
pub fn new_id() -> String {
    ids::new_id("inv")
}
