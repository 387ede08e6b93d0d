//! Payments of orders, and the order-side effects of their outcomes. A payment
//! starts only by atomically taking the order's `payment_id` slot, so one order
//! is never charged by two submissions. No card number or CVC is ever written.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::orders::{self, Order};
use super::{Db, StoreResult};
use crate::commerce::payments::CardOnFile;
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    /// `processing`, `requires_challenge`, `captured`, `declined` or `failed`.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub decline_code: Option<String>,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    #[serde(skip)]
    pub provider_reference: Option<String>,
}

const COLUMNS: &str = "id, order_id, status, amount_minor, currency, card_brand, card_last4, decline_code, \
     captured_minor, refunded_minor, provider_reference";

fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Payment> {
    Ok(Payment {
        id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        status: row.try_get("status")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        card_brand: row.try_get("card_brand")?,
        card_last4: row.try_get("card_last4")?,
        decline_code: row.try_get("decline_code")?,
        captured_minor: row.try_get("captured_minor")?,
        refunded_minor: row.try_get("refunded_minor")?,
        provider_reference: row.try_get("provider_reference")?,
    })
}

/// Starts a payment of an open, unpaid order whose reservation still holds.
/// `None` when the order is being paid, paid, cancelled or expired.
pub async fn start(
    db: &Db,
    business_id: &str,
    order_id: &str,
    amount_minor: i64,
    currency: &str,
) -> StoreResult<Option<String>> {
    let now = ids::now_ms();
    let id = ids::new_id("pay");
    let mut tx = db.pool().begin().await?;
    let taken = sqlx::query(
        "UPDATE orders SET payment_id = $3, updated_at = $4 WHERE business_id = $1 AND id = $2 AND status = 'open' \
         AND payment_status IN ('pending', 'failed') AND payment_id IS NULL AND reserved_until IS NOT NULL AND reserved_until > $4",
    )
    .bind(business_id)
    .bind(order_id)
    .bind(&id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO payments (id, order_id, business_id, status, amount_minor, currency, created_at, updated_at) \
         VALUES ($1, $2, $3, 'processing', $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(order_id)
    .bind(business_id)
    .bind(amount_minor)
    .bind(currency)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

async fn set_card(
    conn: &mut sqlx::AnyConnection,
    payment_id: &str,
    status: &str,
    reference: Option<&str>,
    card: Option<&CardOnFile>,
    decline_code: Option<&str>,
    captured_minor: Option<i64>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE payments SET status = $2, provider_reference = COALESCE($3, provider_reference), card_token = COALESCE($4, card_token), \
         card_brand = COALESCE($5, card_brand), card_last4 = COALESCE($6, card_last4), card_exp = COALESCE($7, card_exp), \
         decline_code = $8, updated_at = $9, captured_minor = COALESCE($10, captured_minor) WHERE id = $1",
    )
    .bind(payment_id)
    .bind(status)
    .bind(reference)
    .bind(card.map(|c| c.token.clone()))
    .bind(card.map(|c| c.brand.clone()))
    .bind(card.map(|c| c.last4.clone()))
    .bind(card.map(|c| format!("{:02}/{}", c.exp_month, c.exp_year)))
    .bind(decline_code)
    .bind(ids::now_ms())
    .bind(captured_minor)
    .execute(conn)
    .await?;
    Ok(())
}

/// The issuer asked for a 3-D Secure challenge.
pub async fn record_challenge(db: &Db, payment_id: &str, reference: &str, card: &CardOnFile) -> StoreResult<()> {
    let mut conn = db.pool().acquire().await?;
    set_card(&mut conn, payment_id, "requires_challenge", Some(reference), Some(card), None, None).await?;
    Ok(())
}

/// Captured: the order is paid, and its stock is kept for good. Returns the
/// order as it now stands, or `None` when it was cancelled meanwhile (an
/// abandoned challenge expired): the caller must give the money back.
pub async fn record_captured(
    db: &Db,
    order_id: &str,
    payment_id: &str,
    reference: &str,
    card: &CardOnFile,
    amount_minor: i64,
) -> StoreResult<Option<Order>> {
    let mut tx = db.pool().begin().await?;
    let paid = sqlx::query(&format!(
        "UPDATE orders SET payment_status = 'captured', reserved_until = NULL, updated_at = $3 \
         WHERE id = $1 AND payment_id = $2 AND status = 'open' RETURNING {}",
        orders::COLUMNS
    ))
    .bind(order_id)
    .bind(payment_id)
    .bind(ids::now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(paid) = paid else {
        tx.rollback().await?;
        return Ok(None);
    };
    set_card(&mut tx, payment_id, "captured", Some(reference), Some(card), None, Some(amount_minor)).await?;
    tx.commit().await?;
    Ok(Some(orders::from_row(&paid)?))
}

/// Declined (or the processor failed): the order can be paid again while its
/// reservation holds. A decline marks the order's payment `failed`. Returns
/// the order as it now stands.
pub async fn record_unsuccessful(
    db: &Db,
    order_id: &str,
    payment_id: &str,
    card: Option<&CardOnFile>,
    decline_code: Option<&str>,
) -> StoreResult<Option<Order>> {
    let mut tx = db.pool().begin().await?;
    let status = if decline_code.is_some() { "declined" } else { "failed" };
    set_card(&mut tx, payment_id, status, None, card, decline_code, None).await?;
    let order_status = if decline_code.is_some() { "failed" } else { "pending" };
    let order = sqlx::query(&format!(
        "UPDATE orders SET payment_id = NULL, payment_status = CASE WHEN payment_status = 'failed' THEN 'failed' ELSE $3 END, \
         updated_at = $4 WHERE id = $1 AND payment_id = $2 RETURNING {}",
        orders::COLUMNS
    ))
    .bind(order_id)
    .bind(payment_id)
    .bind(order_status)
    .bind(ids::now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    order.as_ref().map(orders::from_row).transpose()
}

pub async fn get(db: &Db, business_id: &str, payment_id: &str) -> StoreResult<Option<Payment>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(payment_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Payments of an order, oldest first.
pub async fn of_order(db: &Db, business_id: &str, order_id: &str) -> StoreResult<Vec<Payment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE business_id = $1 AND order_id = $2 ORDER BY created_at, id"
    ))
    .bind(business_id)
    .bind(order_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Counts `amount_minor` more as refunded on the order's captured payment, if
/// that stays within what was captured; returns the payment as it is now.
pub async fn add_refund(db: &Db, business_id: &str, order_id: &str, amount_minor: i64) -> StoreResult<Option<Payment>> {
    let now = ids::now_ms();
    let mut tx = db.pool().begin().await?;
    let done = sqlx::query(
        "UPDATE payments SET refunded_minor = refunded_minor + $3, updated_at = $4 WHERE business_id = $1 AND order_id = $2 \
         AND status = 'captured' AND $3 > 0 AND refunded_minor + $3 <= captured_minor",
    )
    .bind(business_id)
    .bind(order_id)
    .bind(amount_minor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    sqlx::query(
        "UPDATE orders SET payment_status = CASE WHEN (SELECT refunded_minor FROM payments WHERE order_id = $1 AND status = 'captured') \
         >= (SELECT captured_minor FROM payments WHERE order_id = $1 AND status = 'captured') THEN 'refunded' ELSE 'partially_refunded' END, \
         updated_at = $2 WHERE id = $1",
    )
    .bind(order_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1 AND status = 'captured'"))
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(from_row(&row)?))
}

/// Marks a paid order shipped; false when it is not paid or already shipped.
pub async fn mark_shipped(db: &Db, business_id: &str, order_id: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE orders SET fulfillment_status = 'shipped', updated_at = $3 WHERE business_id = $1 AND id = $2 \
         AND status = 'open' AND payment_status IN ('captured', 'partially_refunded') AND fulfillment_status = 'unfulfilled'",
    )
    .bind(business_id)
    .bind(order_id)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a shipped order delivered, which completes it; false when it was not shipped.
pub async fn mark_delivered(db: &Db, business_id: &str, order_id: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE orders SET fulfillment_status = 'delivered', status = 'completed', updated_at = $3 \
         WHERE business_id = $1 AND id = $2 AND status = 'open' AND fulfillment_status = 'shipped'",
    )
    .bind(business_id)
    .bind(order_id)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}
