//! Payment attempts and refunds of orders. An attempt starts only by
//! atomically taking the order's `payment_id` slot, so one order is never
//! charged by two submissions; its intent (the key the provider is called
//! with, the lease of the request that owns it) is written before the
//! provider is called, so a crash leaves something to reconcile. A refund's
//! amount is reserved on the payment with its intent, so two refunds can never
//! give back more than was captured. No card number or CVC is ever written.
//!
//! Outcomes are written by [`record`] and [`finish_refund`], together with the
//! order's change (`orders::apply_on`) and the ledger row they bill (a
//! capture's, a refund's: `usage::record`) in one transaction, and only if
//! the attempt still stands where the caller read it.

use serde::Serialize;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::orders::{self, Order, OrderChange};
use super::usage::{self, UsageFact};
use super::{Db, StoreResult};
use crate::domain::card::CardOnFile;
use crate::domain::states::{AttemptStatus, RefundStatus};
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    #[sqlx(try_from = "String")]
    pub status: AttemptStatus,
    pub amount_minor: i64,
    pub currency: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub decline_code: Option<String>,
    pub captured_minor: i64,
    /// Refunded, or being refunded right now.
    pub refunded_minor: i64,
    #[serde(skip)]
    pub business_id: String,
    #[serde(skip)]
    pub provider_reference: Option<String>,
    /// The idempotency key the provider is called with for this attempt.
    #[serde(skip)]
    pub provider_key: Option<String>,
    /// Until when the request that started the attempt owns it.
    #[serde(skip)]
    pub lease_until: Option<i64>,
}

const COLUMNS: &str = "id, order_id, status, amount_minor, currency, card_brand, card_last4, decline_code, \
     captured_minor, refunded_minor, business_id, provider_reference, provider_key, lease_until";

/// What an attempt's outcome writes on it.
#[derive(Debug, Clone, Default)]
pub struct AttemptUpdate<'a> {
    pub reference: Option<&'a str>,
    pub card: Option<&'a CardOnFile>,
    pub decline_code: Option<&'a str>,
    pub captured_minor: Option<i64>,
    /// The ledger row the outcome bills (a capture's), written in its transaction.
    pub usage: Option<&'a UsageFact>,
}

/// Starts a payment of `order` (read as open and unpaid, with no attempt in
/// progress), owned by the caller until `lease_until`. `None` when the order
/// moved meanwhile or its reservation ended.
pub async fn start(
    db: &Db,
    business_id: &str,
    order: &Order,
    request_key: Option<&str>,
    lease_until: i64,
) -> StoreResult<Option<Payment>> {
    let now = ids::now_ms();
    let id = ids::new_id("pay");
    let mut tx = db.pool().begin().await?;
    let taken = sqlx::query(
        "UPDATE orders SET payment_id = $3, updated_at = $4 WHERE business_id = $1 AND id = $2 AND status = 'open' \
         AND payment_status IN ('pending', 'failed') AND payment_id IS NULL AND reserved_until IS NOT NULL AND reserved_until > $4",
    )
    .bind(business_id)
    .bind(&order.id)
    .bind(&id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let payment: Payment = sqlx::query_as(&format!(
        "INSERT INTO payments (id, order_id, business_id, status, amount_minor, currency, provider_key, lease_until, \
         request_key, created_at, updated_at) VALUES ($1, $2, $3, 'processing', $4, $5, $1, $6, $7, $8, $8) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&order.id)
    .bind(business_id)
    .bind(order.total_minor)
    .bind(&order.currency)
    .bind(lease_until)
    .bind(request_key)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(payment))
}

/// Writes the outcome `status` of `read` (as it stood when read) and, in the
/// same transaction, `order_change` of its order. A failed attempt gives its
/// request key up, so the same request may try again. `None` when either moved
/// meanwhile: nothing is written, and the caller reads again.
pub async fn record(
    db: &Db,
    read: &Payment,
    status: AttemptStatus,
    update: &AttemptUpdate<'_>,
    order_change: Option<(&Order, &OrderChange)>,
) -> StoreResult<Option<(Payment, Option<Order>)>> {
    let mut tx = db.pool().begin().await?;
    let payment: Option<Payment> = sqlx::query_as(&format!(
        "UPDATE payments SET status = $3, provider_reference = COALESCE($4, provider_reference), \
         card_token = COALESCE($5, card_token), card_brand = COALESCE($6, card_brand), card_last4 = COALESCE($7, card_last4), \
         card_exp = COALESCE($8, card_exp), decline_code = $9, captured_minor = COALESCE($10, captured_minor), \
         request_key = CASE WHEN $3 = 'failed' THEN NULL ELSE request_key END, \
         updated_at = $11 WHERE id = $1 AND status = $2 RETURNING {COLUMNS}"
    ))
    .bind(&read.id)
    .bind(read.status.as_str())
    .bind(status.as_str())
    .bind(update.reference)
    .bind(update.card.map(|c| c.token.clone()))
    .bind(update.card.map(|c| c.brand.clone()))
    .bind(update.card.map(|c| c.last4.clone()))
    .bind(update.card.map(|c| format!("{:02}/{}", c.exp_month, c.exp_year)))
    .bind(update.decline_code)
    .bind(update.captured_minor)
    .bind(ids::now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payment) = payment else {
        tx.rollback().await?;
        return Ok(None);
    };
    let Some(order) = change_order(&mut tx, &read.business_id, order_change).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    if let Some(fact) = update.usage {
        usage::record(&mut tx, fact).await?;
    }
    tx.commit().await?;
    Ok(Some((payment, order)))
}

/// Applies an outcome's order change (if any) in its transaction: `Some` with
/// the order as changed (`None` inside when there was no change), or `None`
/// when the order moved since it was read.
async fn change_order(
    conn: &mut sqlx::AnyConnection,
    business_id: &str,
    order_change: Option<(&Order, &OrderChange)>,
) -> StoreResult<Option<Option<Order>>> {
    match order_change {
        None => Ok(Some(None)),
        Some((order, change)) => Ok(orders::apply_on(conn, business_id, order, change).await?.map(Some)),
    }
}

pub async fn get(db: &Db, business_id: &str, payment_id: &str) -> StoreResult<Option<Payment>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM payments WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(payment_id)
        .fetch_optional(db.pool())
        .await?)
}

/// The attempt a payment request (by its idempotency key) started, if any.
pub async fn by_request_key(db: &Db, order_id: &str, request_key: &str) -> StoreResult<Option<Payment>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1 AND request_key = $2"))
        .bind(order_id)
        .bind(request_key)
        .fetch_optional(db.pool())
        .await?)
}

/// Payments of an order, oldest first.
pub async fn of_order(db: &Db, business_id: &str, order_id: &str) -> StoreResult<Vec<Payment>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payments WHERE business_id = $1 AND order_id = $2 ORDER BY created_at, id"
    ))
    .bind(business_id)
    .bind(order_id)
    .fetch_all(db.pool())
    .await?)
}

/// Attempts no request owns any more: `processing` past their lease (the
/// request that started them died), and challenges whose order's reservation
/// ended (the customer walked away, or answered and the answer was lost).
pub async fn unresolved(db: &Db, now: i64, limit: u32) -> StoreResult<Vec<Payment>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payments WHERE (status = 'processing' AND lease_until < $1) \
         OR (status = 'requires_challenge' AND order_id IN \
             (SELECT id FROM orders WHERE status = 'open' AND reserved_until IS NOT NULL AND reserved_until < $1)) \
         ORDER BY created_at LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// A refund of (part of) a captured payment.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub payment_id: String,
    pub amount_minor: i64,
    #[sqlx(try_from = "String")]
    pub status: RefundStatus,
    pub failure: Option<String>,
    #[serde(skip)]
    pub business_id: String,
    #[serde(skip)]
    pub lease_until: Option<i64>,
}

const REFUND_COLUMNS: &str = "id, order_id, payment_id, amount_minor, status, failure, business_id, lease_until";

/// Records the intent to refund `amount_minor` of `payment` (captured),
/// reserving the amount on it; `None` when that would give back more than was
/// captured (counting refunds in progress).
pub async fn start_refund(
    db: &Db,
    payment: &Payment,
    amount_minor: i64,
    request_key: Option<&str>,
    lease_until: i64,
) -> StoreResult<Option<Refund>> {
    let now = ids::now_ms();
    let mut tx = db.pool().begin().await?;
    let reserved = sqlx::query(
        "UPDATE payments SET refunded_minor = refunded_minor + $2, updated_at = $3 WHERE id = $1 \
         AND status = 'captured' AND $2 > 0 AND refunded_minor + $2 <= captured_minor",
    )
    .bind(&payment.id)
    .bind(amount_minor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if reserved.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    let refund: Refund = sqlx::query_as(&format!(
        "INSERT INTO refunds (id, business_id, order_id, payment_id, amount_minor, status, lease_until, request_key, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8) RETURNING {REFUND_COLUMNS}"
    ))
    .bind(ids::new_id("ref"))
    .bind(&payment.business_id)
    .bind(&payment.order_id)
    .bind(&payment.id)
    .bind(amount_minor)
    .bind(lease_until)
    .bind(request_key)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(refund))
}

/// Ends a pending refund: on success with `order_change` in the same
/// transaction; on failure giving its reserved amount back (and its request
/// key, so the same request may try again). `None` when the
/// refund or the order moved meanwhile (nothing written).
pub async fn finish_refund(
    db: &Db,
    refund: &Refund,
    outcome: Result<(), &str>,
    order_change: Option<(&Order, &OrderChange)>,
    billed: Option<&UsageFact>,
) -> StoreResult<Option<(Refund, Option<Order>)>> {
    let now = ids::now_ms();
    let status = if outcome.is_ok() { RefundStatus::Succeeded } else { RefundStatus::Failed };
    let mut tx = db.pool().begin().await?;
    let finished: Option<Refund> = sqlx::query_as(&format!(
        "UPDATE refunds SET status = $2, failure = $3, updated_at = $4, \
         request_key = CASE WHEN $2 = 'failed' THEN NULL ELSE request_key END \
         WHERE id = $1 AND status = 'pending' RETURNING {REFUND_COLUMNS}"
    ))
    .bind(&refund.id)
    .bind(status.as_str())
    .bind(outcome.err())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(finished) = finished else {
        tx.rollback().await?;
        return Ok(None);
    };
    if outcome.is_err() {
        sqlx::query("UPDATE payments SET refunded_minor = refunded_minor - $2, updated_at = $3 WHERE id = $1")
            .bind(&refund.payment_id)
            .bind(refund.amount_minor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let Some(order) = change_order(&mut tx, &refund.business_id, order_change).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    if let (Ok(()), Some(fact)) = (outcome, billed) {
        usage::record(&mut tx, fact).await?;
    }
    tx.commit().await?;
    Ok(Some((finished, order)))
}

/// What has been given back of a payment by refunds that succeeded.
pub async fn refunded_minor(db: &Db, payment_id: &str) -> StoreResult<i64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded FROM refunds WHERE payment_id = $1 AND status = 'succeeded'",
    )
    .bind(payment_id)
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get("refunded")?)
}

pub async fn get_refund(db: &Db, refund_id: &str) -> StoreResult<Option<Refund>> {
    Ok(sqlx::query_as(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"))
        .bind(refund_id)
        .fetch_optional(db.pool())
        .await?)
}

/// The refund a request (by its idempotency key) started, if any.
pub async fn refund_by_request_key(db: &Db, order_id: &str, request_key: &str) -> StoreResult<Option<Refund>> {
    Ok(sqlx::query_as(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE order_id = $1 AND request_key = $2"))
        .bind(order_id)
        .bind(request_key)
        .fetch_optional(db.pool())
        .await?)
}

/// Refunds left pending past their lease (the request that started them died).
pub async fn unfinished_refunds(db: &Db, now: i64, limit: u32) -> StoreResult<Vec<Refund>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE status = 'pending' AND lease_until < $1 ORDER BY created_at LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// The request that owned a pending refund stopped (the provider did not
/// answer): its retry, or the sweeper, may carry it on at once.
pub async fn give_up_refund_lease(db: &Db, refund_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE refunds SET lease_until = 0 WHERE id = $1 AND status = 'pending'")
        .bind(refund_id)
        .execute(db.pool())
        .await?;
    Ok(())
}
