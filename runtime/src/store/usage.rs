//! The usage ledger's rows (`usage_events`): append-only, one per billable
//! fact, written by [`record`] inside the transaction that writes the fact
//! itself, so a fact and its usage commit or vanish together. The key
//! (business, source, source id) is part of that transaction: a retried fact
//! finds its row and writes nothing (never claim-then-write). The same key
//! offered with another quantity is refused: the row keeps what it had, the
//! disagreement is returned ([`Recorded::Conflict`]) and logged as an error,
//! and the fact itself still commits (a payment is never lost over a meter).
//!
//! Nothing here updates or deletes a row; corrections are new rows
//! (`Metric::Adjustment`). What a fact is worth is decided in `billing/`;
//! this module only keeps and sums the rows.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};
use utoipa::ToSchema;

use super::{Db, StoreResult};
use crate::domain::billing::Metric;
use crate::ids;

/// A billable fact to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageFact {
    pub business_id: String,
    pub metric: Metric,
    /// What the fact is: `inbound_event`, `message`, `payment`, `refund`, `whatsapp_send`,
    /// `plugin_turn`, `operator`.
    pub source: &'static str,
    /// Its id there (the message's, payment's, refund's, wamid...).
    pub source_id: String,
    pub quantity: i64,
    pub currency: Option<String>,
    pub market: Option<String>,
    pub category: Option<String>,
    pub note: Option<String>,
    /// When the fact happened (ms since the epoch): it decides the period.
    pub occurred_at: i64,
}

impl UsageFact {
    /// A fact of `quantity` units with nothing else said.
    pub fn new(business_id: &str, metric: Metric, source: &'static str, source_id: &str, quantity: i64) -> UsageFact {
        UsageFact {
            business_id: business_id.to_string(),
            metric,
            source,
            source_id: source_id.to_string(),
            quantity,
            currency: None,
            market: None,
            category: None,
            note: None,
            occurred_at: ids::now_ms(),
        }
    }
}

/// What [`record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new row.
    New,
    /// The fact was already recorded, with the same quantity: nothing written.
    Duplicate,
    /// The key was recorded with another quantity: nothing written.
    Conflict { recorded: i64, offered: i64 },
}

/// A ledger row.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct UsageRow {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    #[sqlx(try_from = "String")]
    pub metric: Metric,
    pub source: String,
    pub source_id: String,
    pub quantity: i64,
    pub currency: Option<String>,
    pub market: Option<String>,
    pub category: Option<String>,
    pub note: Option<String>,
    pub occurred_at: i64,
    pub recorded_at: i64,
}

const COLUMNS: &str =
    "id, business_id, metric, source, source_id, quantity, currency, market, category, note, occurred_at, recorded_at";

/// Records `fact` in the caller's transaction (see the module's doc).
pub async fn record(conn: &mut AnyConnection, fact: &UsageFact) -> StoreResult<Recorded> {
    let inserted = sqlx::query(
        "INSERT INTO usage_events (id, business_id, metric, source, source_id, quantity, currency, market, category, \
         note, occurred_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (business_id, source, source_id) DO NOTHING",
    )
    .bind(ids::new_id("use"))
    .bind(&fact.business_id)
    .bind(fact.metric.as_str())
    .bind(fact.source)
    .bind(&fact.source_id)
    .bind(fact.quantity)
    .bind(fact.currency.as_deref())
    .bind(fact.market.as_deref())
    .bind(fact.category.as_deref())
    .bind(fact.note.as_deref())
    .bind(fact.occurred_at)
    .bind(ids::now_ms())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Recorded::New);
    }
    let recorded: i64 = sqlx::query_scalar(
        "SELECT quantity FROM usage_events WHERE business_id = $1 AND source = $2 AND source_id = $3",
    )
    .bind(&fact.business_id)
    .bind(fact.source)
    .bind(&fact.source_id)
    .fetch_one(&mut *conn)
    .await?;
    if recorded == fact.quantity {
        return Ok(Recorded::Duplicate);
    }
    tracing::error!(
        business = %fact.business_id,
        source = fact.source,
        source_id = %fact.source_id,
        recorded,
        offered = fact.quantity,
        "usage refused: this fact was already metered with another quantity"
    );
    Ok(Recorded::Conflict { recorded, offered: fact.quantity })
}

/// Records `fact` in a transaction of its own (operator adjustments, tests).
pub async fn record_alone(db: &Db, fact: &UsageFact) -> StoreResult<Recorded> {
    let mut tx = db.pool().begin().await?;
    let recorded = record(&mut tx, fact).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// Units and count of the rows of one kind.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UsageTotal {
    #[sqlx(try_from = "String")]
    pub metric: Metric,
    pub currency: Option<String>,
    pub market: Option<String>,
    pub category: Option<String>,
    /// How many rows.
    pub events: i64,
    /// The sum of their quantities.
    pub quantity: i64,
}

/// Which rows a sum covers.
#[derive(Debug, Clone, Copy)]
pub enum Covering<'a> {
    /// Every row of the business that occurred in `[from, to)`.
    Occurred { from: i64, to: i64 },
    /// The rows linked to the invoice `invoice_id` that occurred in `[from, to)`.
    Invoiced { invoice_id: &'a str, from: i64, to: i64 },
    /// The rows of `[from, to)` linked to any invoice (what was billed of that period so far).
    AnyInvoice { from: i64, to: i64 },
    /// The rows of `[from, to)` linked to an invoice other than `invoice_id`
    /// (what was billed of that period before it).
    OtherInvoices { invoice_id: &'a str, from: i64, to: i64 },
}

/// Sums by metric, currency, market and category.
pub async fn totals(
    conn: &mut AnyConnection,
    business_id: &str,
    covering: Covering<'_>,
) -> StoreResult<Vec<UsageTotal>> {
    let (from, to, filter, rows) = match covering {
        Covering::Occurred { from, to } => (from, to, "", "$4 = ''"),
        Covering::Invoiced { invoice_id, from, to } => {
            (from, to, invoice_id, "id IN (SELECT usage_id FROM invoice_usage WHERE invoice_id = $4)")
        }
        Covering::AnyInvoice { from, to } => (from, to, "", "$4 = '' AND id IN (SELECT usage_id FROM invoice_usage)"),
        Covering::OtherInvoices { invoice_id, from, to } => {
            (from, to, invoice_id, "id IN (SELECT usage_id FROM invoice_usage WHERE invoice_id <> $4)")
        }
    };
    let sql = format!(
        "SELECT metric, currency, market, category, COUNT(*) AS events, \
         CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS quantity FROM usage_events \
         WHERE business_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND {rows} \
         GROUP BY metric, currency, market, category ORDER BY metric, currency, market, category"
    );
    Ok(sqlx::query_as(&sql).bind(business_id).bind(from).bind(to).bind(filter).fetch_all(&mut *conn).await?)
}

/// Links to `invoice_id` every row of the business that occurred before `to`
/// and is on no invoice yet; returns how many. Run in the finalising
/// transaction, before the invoice is priced from exactly the rows linked.
pub async fn link_uninvoiced(
    conn: &mut AnyConnection,
    business_id: &str,
    to: i64,
    invoice_id: &str,
) -> StoreResult<u64> {
    let linked = sqlx::query(
        "INSERT INTO invoice_usage (usage_id, invoice_id) SELECT u.id, $3 FROM usage_events u \
         WHERE u.business_id = $1 AND u.occurred_at < $2 \
         AND NOT EXISTS (SELECT 1 FROM invoice_usage i WHERE i.usage_id = u.id)",
    )
    .bind(business_id)
    .bind(to)
    .bind(invoice_id)
    .execute(&mut *conn)
    .await?;
    Ok(linked.rows_affected())
}

/// The earliest occurrence among the rows linked to `invoice_id` (where its delta lines start).
pub async fn earliest_linked(conn: &mut AnyConnection, invoice_id: &str) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(u.occurred_at) FROM usage_events u JOIN invoice_usage i ON i.usage_id = u.id WHERE i.invoice_id = $1",
    )
    .bind(invoice_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// The earliest occurrence among the business's rows before `before` that are on no invoice.
pub async fn earliest_uninvoiced(conn: &mut AnyConnection, business_id: &str, before: i64) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(u.occurred_at) FROM usage_events u WHERE u.business_id = $1 AND u.occurred_at < $2 \
         AND NOT EXISTS (SELECT 1 FROM invoice_usage i WHERE i.usage_id = u.id)",
    )
    .bind(business_id)
    .bind(before)
    .fetch_one(&mut *conn)
    .await?)
}

/// The ledger rows an invoice sums, in the order they were recorded.
pub async fn of_invoice(db: &Db, business_id: &str, invoice_id: &str) -> StoreResult<Vec<UsageRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM usage_events WHERE business_id = $1 \
         AND id IN (SELECT usage_id FROM invoice_usage WHERE invoice_id = $2) ORDER BY occurred_at, id"
    ))
    .bind(business_id)
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?)
}

/// Per day (`day_start` of each row's day, in ms, from `day_starts`) and
/// metric: the sums of `[from, to)`. `day_starts` are the days' first
/// milliseconds in the operator's time zone, ascending, the first at `from`.
pub async fn daily(db: &Db, business_id: &str, day_starts: &[i64], to: i64) -> StoreResult<Vec<(i64, UsageTotal)>> {
    let Some(&from) = day_starts.first() else { return Ok(Vec::new()) };
    let rows: Vec<UsageRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM usage_events WHERE business_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
         ORDER BY occurred_at, id"
    ))
    .bind(business_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut days: Vec<(i64, UsageTotal)> = Vec::new();
    for row in rows {
        let day = day_starts.iter().rev().find(|start| **start <= row.occurred_at).copied().unwrap_or(from);
        match days.iter_mut().find(|(d, t)| *d == day && t.metric == row.metric) {
            Some((_, total)) => {
                total.events += 1;
                total.quantity = total.quantity.saturating_add(row.quantity);
            }
            None => days.push((
                day,
                UsageTotal {
                    metric: row.metric,
                    currency: None,
                    market: None,
                    category: None,
                    events: 1,
                    quantity: row.quantity,
                },
            )),
        }
    }
    days.sort_by(|a, b| (a.0, a.1.metric.as_str()).cmp(&(b.0, b.1.metric.as_str())));
    Ok(days)
}

/// The business's channel deliveries (`whatsapp_delivered`, `whatsapp_free`)
/// that occurred in `[from, to)`, in order: what reconciliation compares with
/// what the channel reports.
pub async fn channel_rows(db: &Db, business_id: &str, from: i64, to: i64) -> StoreResult<Vec<UsageRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM usage_events WHERE business_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
         AND metric IN ($4, $5) ORDER BY occurred_at, id"
    ))
    .bind(business_id)
    .bind(from)
    .bind(to)
    .bind(Metric::WhatsappDelivered.as_str())
    .bind(Metric::WhatsappFree.as_str())
    .fetch_all(db.pool())
    .await?)
}

/// Businesses with usage that occurred before `to` and is on no invoice.
pub async fn businesses_with_uninvoiced(db: &Db, to: i64) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT u.business_id FROM usage_events u WHERE u.occurred_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM invoice_usage i WHERE i.usage_id = u.id) ORDER BY u.business_id",
    )
    .bind(to)
    .fetch_all(db.pool())
    .await?)
}

/// Records that the business crossed `percent` of `subject` (its spending cap
/// or an allowance) in `period`, queuing its `usage.threshold` webhook in
/// the same transaction; false when that was already recorded.
/// The businesses with usage recorded at `since` or later.
pub async fn businesses_recorded_since(db: &Db, since: i64) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT business_id FROM usage_events WHERE recorded_at >= $1 ORDER BY business_id")
        .bind(since)
        .fetch_all(db.pool())
        .await?)
}

pub async fn cross_threshold(
    db: &Db,
    business_id: &str,
    period: &str,
    subject: &str,
    percent: i64,
    payload: &str,
) -> StoreResult<bool> {
    let mut tx = db.pool().begin().await?;
    let crossed = sqlx::query(
        "INSERT INTO usage_thresholds (business_id, period, subject, percent, crossed_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (business_id, period, subject, percent) DO NOTHING",
    )
    .bind(business_id)
    .bind(period)
    .bind(subject)
    .bind(percent)
    .bind(ids::now_ms())
    .execute(&mut *tx)
    .await?;
    if crossed.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    super::webhooks::enqueue_on(&mut *tx, business_id, "usage.threshold", payload).await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether the business crossed `percent` of `subject` in `period`.
pub async fn crossed(db: &Db, business_id: &str, period: &str, subject: &str, percent: i64) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT percent FROM usage_thresholds WHERE business_id = $1 AND period = $2 AND subject = $3 AND percent >= $4 \
         LIMIT 1",
    )
    .bind(business_id)
    .bind(period)
    .bind(subject)
    .bind(percent)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}
