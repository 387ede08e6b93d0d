//! Collecting invoices, as stored: a business's billing card (`billing_cards`:
//! what the payment provider returned, never a number) and every attempt to
//! charge an invoice to it (`invoice_charges`), whose idempotency key is
//! written before the provider is called. [`settle`] records an attempt's
//! outcome and moves the invoice's payment status in one transaction.
//! What to attempt, and when, is decided in `commerce::payments::collection`.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::{Db, StoreResult, invoices};
use crate::domain::billing::{ChargeAttemptState, InvoiceStatus};
use crate::domain::card::CardOnFile;
use crate::ids;

/// A business's billing card, as the operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct BillingCard {
    #[serde(skip)]
    pub business_id: String,
    #[serde(skip)]
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub updated_at: i64,
}

/// Keeps `card` as the business's billing card (replacing any before).
pub async fn set_card(db: &Db, business_id: &str, card: &CardOnFile, now: i64) -> StoreResult<BillingCard> {
    Ok(sqlx::query_as(
        "INSERT INTO billing_cards (business_id, token, brand, last4, exp_month, exp_year, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (business_id) DO UPDATE SET token = excluded.token, \
         brand = excluded.brand, last4 = excluded.last4, exp_month = excluded.exp_month, \
         exp_year = excluded.exp_year, updated_at = excluded.updated_at \
         RETURNING business_id, token, brand, last4, exp_month, exp_year, updated_at",
    )
    .bind(business_id)
    .bind(&card.token)
    .bind(&card.brand)
    .bind(&card.last4)
    .bind(i64::from(card.exp_month))
    .bind(i64::from(card.exp_year))
    .bind(now)
    .fetch_one(db.pool())
    .await?)
}

pub async fn card_of(db: &Db, business_id: &str) -> StoreResult<Option<BillingCard>> {
    Ok(sqlx::query_as(
        "SELECT business_id, token, brand, last4, exp_month, exp_year, updated_at FROM billing_cards \
         WHERE business_id = $1",
    )
    .bind(business_id)
    .fetch_optional(db.pool())
    .await?)
}

/// One attempt to charge an invoice.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct ChargeAttempt {
    pub id: String,
    pub invoice_id: String,
    #[serde(skip)]
    pub business_id: String,
    /// 1 for the first attempt, then one more per retry.
    pub attempt: i64,
    #[serde(skip)]
    pub idempotency_key: String,
    #[serde(skip)]
    pub card_token: String,
    pub amount_minor: i64,
    pub currency: String,
    #[sqlx(try_from = "String")]
    pub state: ChargeAttemptState,
    pub decline_code: Option<String>,
    pub reference: Option<String>,
    #[serde(skip)]
    pub lease_until: i64,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

const COLUMNS: &str = "id, invoice_id, business_id, attempt, idempotency_key, card_token, amount_minor, currency, \
     state, decline_code, reference, lease_until, created_at, settled_at";

/// An open invoice of a business with a billing card, and its attempts so far.
#[derive(Debug, Clone, FromRow)]
pub struct Collectable {
    pub invoice_id: String,
    pub business_id: String,
    pub total_minor: i64,
    pub currency: String,
    pub finalized_at: i64,
    pub card_token: String,
    /// Attempts made (none is pending: those are resolved first).
    pub attempts: i64,
    /// When the last attempt was settled (or began), if any.
    pub last_attempt_at: Option<i64>,
}

/// Open invoices of businesses with a billing card and no attempt pending,
/// oldest first.
pub async fn collectable(db: &Db, limit: u32) -> StoreResult<Vec<Collectable>> {
    Ok(sqlx::query_as(
        "SELECT i.id AS invoice_id, i.business_id, i.total_minor, i.currency, i.finalized_at, c.token AS card_token, \
         (SELECT COUNT(*) FROM invoice_charges a WHERE a.invoice_id = i.id) AS attempts, \
         (SELECT MAX(COALESCE(a.settled_at, a.created_at)) FROM invoice_charges a WHERE a.invoice_id = i.id) \
         AS last_attempt_at \
         FROM invoices i JOIN invoice_status s ON s.invoice_id = i.id JOIN billing_cards c ON c.business_id = i.business_id \
         WHERE s.status = $1 AND NOT EXISTS \
         (SELECT 1 FROM invoice_charges p WHERE p.invoice_id = i.id AND p.state = $2) \
         ORDER BY i.finalized_at, i.id LIMIT $3",
    )
    .bind(InvoiceStatus::Open.as_str())
    .bind(ChargeAttemptState::Pending.as_str())
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// An attempt about to be made.
#[derive(Debug, Clone, Copy)]
pub struct NewAttempt<'a> {
    pub invoice_id: &'a str,
    pub business_id: &'a str,
    pub attempt: i64,
    pub card_token: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub lease_until: i64,
}

/// The idempotency key of an invoice's attempt: the provider answers the
/// same key the same, so the attempt charges once however often it is sent.
pub fn idempotency_key(invoice_id: &str, attempt: i64) -> String {
    format!("{invoice_id}:charge:{attempt}")
}

/// Records the intent of an attempt, `pending`, with its idempotency key,
/// before the provider is called; `None` when that attempt was already
/// recorded (another node is making it).
pub async fn start_attempt(db: &Db, new: NewAttempt<'_>) -> StoreResult<Option<ChargeAttempt>> {
    let now = ids::now_ms();
    Ok(sqlx::query_as(&format!(
        "INSERT INTO invoice_charges (id, invoice_id, business_id, attempt, idempotency_key, card_token, amount_minor, \
         currency, state, lease_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(ids::new_id("ich"))
    .bind(new.invoice_id)
    .bind(new.business_id)
    .bind(new.attempt)
    .bind(idempotency_key(new.invoice_id, new.attempt))
    .bind(new.card_token)
    .bind(new.amount_minor)
    .bind(new.currency)
    .bind(ChargeAttemptState::Pending.as_str())
    .bind(new.lease_until)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// Attempts still pending whose node's lease ended before `now` (it died
/// between recording the intent and recording the outcome).
pub async fn unsettled(db: &Db, now: i64, limit: u32) -> StoreResult<Vec<ChargeAttempt>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invoice_charges WHERE state = $1 AND lease_until < $2 ORDER BY created_at LIMIT $3"
    ))
    .bind(ChargeAttemptState::Pending.as_str())
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// Takes over a pending attempt whose lease ended, until `lease_until`;
/// false when another node took it first or it was settled.
pub async fn take_over(db: &Db, attempt: &ChargeAttempt, now: i64, lease_until: i64) -> StoreResult<bool> {
    let taken = sqlx::query(
        "UPDATE invoice_charges SET lease_until = $3 WHERE id = $1 AND state = $2 AND lease_until = $4 \
         AND lease_until < $5",
    )
    .bind(&attempt.id)
    .bind(ChargeAttemptState::Pending.as_str())
    .bind(lease_until)
    .bind(attempt.lease_until)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// The attempts made for an invoice, first first.
pub async fn attempts_of(db: &Db, invoice_id: &str) -> StoreResult<Vec<ChargeAttempt>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM invoice_charges WHERE invoice_id = $1 ORDER BY attempt"))
        .bind(invoice_id)
        .fetch_all(db.pool())
        .await?)
}

/// What became of an attempt, as the collector decided it.
#[derive(Debug, Clone, Copy)]
pub enum Settled<'a> {
    /// Charged: the invoice moves from `from` to paid (`invoice.paid` queued).
    Succeeded { reference: &'a str, from: InvoiceStatus },
    /// Declined; the invoice moves from `from` to past due when `past_due`
    /// (its last attempt), and otherwise stays where it is.
    Declined { code: &'a str, from: InvoiceStatus, past_due: bool },
}

/// Records what became of `attempt_id` and moves its invoice, in one
/// transaction; false when the attempt was already settled (nothing written).
/// When the invoice no longer stands at `from` (the operator marked it paid
/// meanwhile), the attempt is recorded and the status left as it is.
pub async fn settle(db: &Db, attempt_id: &str, invoice_id: &str, outcome: Settled<'_>, now: i64) -> StoreResult<bool> {
    let (state, code, reference) = match outcome {
        Settled::Succeeded { reference, .. } => (ChargeAttemptState::Succeeded, None, Some(reference)),
        Settled::Declined { code, .. } => (ChargeAttemptState::Declined, Some(code), None),
    };
    let mut tx = db.pool().begin().await?;
    let recorded = sqlx::query(
        "UPDATE invoice_charges SET state = $2, decline_code = $3, reference = $4, settled_at = $5 \
         WHERE id = $1 AND state = $6",
    )
    .bind(attempt_id)
    .bind(state.as_str())
    .bind(code)
    .bind(reference)
    .bind(now)
    .bind(ChargeAttemptState::Pending.as_str())
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let moved = match outcome {
        Settled::Succeeded { from, .. } => {
            invoices::change_status_on(&mut tx, invoice_id, from, InvoiceStatus::Paid, now).await?
        }
        Settled::Declined { from, past_due: true, .. } => {
            invoices::change_status_on(&mut tx, invoice_id, from, InvoiceStatus::PastDue, now).await?
        }
        Settled::Declined { past_due: false, .. } => true,
    };
    if !moved {
        tracing::warn!(invoice = %invoice_id, attempt = %attempt_id, "an invoice changed while its charge was made");
    }
    tx.commit().await?;
    Ok(true)
}
