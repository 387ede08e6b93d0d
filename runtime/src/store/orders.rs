//! Orders and their lines. Checkout takes the lines' stock from the catalog in
//! the same transaction that creates the order (one conditional update per
//! line, so two customers racing for the last unit cannot both get it); a
//! cancelled or expired order gives it back, exactly once.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::{Db, StoreError, StoreResult, is_unique_violation};
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: String,
    /// 1, 2, 3... per business.
    pub number: i64,
    pub conversation_id: String,
    /// The customer's pseudonym.
    pub customer_id: String,
    /// `open`, `completed` or `cancelled`.
    pub status: String,
    /// `pending`, `authorized`, `captured`, `failed`, `refunded` or `partially_refunded`.
    pub payment_status: String,
    /// `unfulfilled`, `shipped` or `delivered`.
    pub fulfillment_status: String,
    pub currency: String,
    pub subtotal_minor: i64,
    pub total_minor: i64,
    /// The priced cart at checkout: lines, discounts, totals.
    #[schema(value_type = Object)]
    pub cart: serde_json::Value,
    /// Until when the stock is held for this unpaid order (ms since the epoch).
    pub reserved_until_ms: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

/// An order to create.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub business_id: &'a str,
    pub conversation_id: &'a str,
    pub customer_id: &'a str,
    pub currency: &'a str,
    pub subtotal_minor: i64,
    pub total_minor: i64,
    pub cart: serde_json::Value,
    /// (product id, quantity)
    pub lines: Vec<(String, i64)>,
    pub reserved_until: i64,
    /// SHA-256 of the payment link's token.
    pub pay_token_hash: String,
}

/// Checkout could not take a line's stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfStock {
    pub product_id: String,
}

pub(super) const COLUMNS: &str = "id, number, conversation_id, customer_id, status, payment_status, fulfillment_status, \
     currency, subtotal_minor, total_minor, cart, reserved_until, created_at";

pub(super) fn from_row(row: &AnyRow) -> StoreResult<Order> {
    let cart: String = row.try_get("cart")?;
    Ok(Order {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        conversation_id: row.try_get("conversation_id")?,
        customer_id: row.try_get("customer_id")?,
        status: row.try_get("status")?,
        payment_status: row.try_get("payment_status")?,
        fulfillment_status: row.try_get("fulfillment_status")?,
        currency: row.try_get("currency")?,
        subtotal_minor: row.try_get("subtotal_minor")?,
        total_minor: row.try_get("total_minor")?,
        cart: serde_json::from_str(&cart).map_err(|e| StoreError::Corrupt(format!("order cart: {e}")))?,
        reserved_until_ms: row.try_get("reserved_until")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates an order, taking its lines' stock and emptying the conversation's
/// cart, all or nothing.
pub async fn create_reserving(db: &Db, new: &NewOrder<'_>) -> StoreResult<Result<Order, OutOfStock>> {
    // Two checkouts of one business racing for the same number: the loser retries.
    for _ in 0..3 {
        match try_create(db, new).await {
            Err(StoreError::Database(e)) if is_unique_violation(&e) => continue,
            other => return other,
        }
    }
    Err(StoreError::Conflict("too many concurrent checkouts; try again".into()))
}

async fn try_create(db: &Db, new: &NewOrder<'_>) -> StoreResult<Result<Order, OutOfStock>> {
    let now = ids::now_ms();
    let id = ids::new_id("ord");
    let mut tx = db.pool().begin().await?;
    for (product_id, quantity) in &new.lines {
        let taken = sqlx::query(
            "UPDATE products SET stock = stock - $3, updated_at = $4 \
             WHERE business_id = $1 AND id = $2 AND available = 1 AND stock >= $3",
        )
        .bind(new.business_id)
        .bind(product_id)
        .bind(*quantity)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Err(OutOfStock { product_id: product_id.clone() }));
        }
    }
    sqlx::query(
        "INSERT INTO orders (id, business_id, conversation_id, customer_id, number, status, payment_status, \
         fulfillment_status, currency, subtotal_minor, total_minor, cart, reserved_until, created_at, updated_at, pay_token_hash) \
         VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(number), 0) + 1 FROM orders WHERE business_id = $2), \
         'open', 'pending', 'unfulfilled', $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(&id)
    .bind(new.business_id)
    .bind(new.conversation_id)
    .bind(new.customer_id)
    .bind(new.currency)
    .bind(new.subtotal_minor)
    .bind(new.total_minor)
    .bind(new.cart.to_string())
    .bind(new.reserved_until)
    .bind(now)
    .bind(&new.pay_token_hash)
    .execute(&mut *tx)
    .await?;
    for (product_id, quantity) in &new.lines {
        sqlx::query("INSERT INTO order_lines (order_id, product_id, quantity) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(product_id)
            .bind(*quantity)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM cart_lines WHERE business_id = $1 AND conversation_id = $2")
        .bind(new.business_id)
        .bind(new.conversation_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let order =
        get(db, new.business_id, &id).await?.ok_or_else(|| StoreError::Corrupt("created order vanished".into()))?;
    Ok(Ok(order))
}

/// What a payment link opens: the order, with its shop and the customer's locale.
#[derive(Debug, Clone)]
pub struct PaymentLink {
    pub order: Order,
    pub business_id: String,
    pub shop_name: String,
    pub locale: String,
}

/// The order whose payment-link token hashes to `token_hash`, in one query.
pub async fn by_payment_link(db: &Db, order_id: &str, token_hash: &str) -> StoreResult<Option<PaymentLink>> {
    static SELECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("o.{}", c.trim())).collect();
        format!(
            "SELECT {}, o.business_id AS link_business_id, b.name AS link_shop_name, c.locale AS link_locale \
             FROM orders o JOIN businesses b ON b.id = o.business_id JOIN conversations c ON c.id = o.conversation_id \
             WHERE o.id = $1 AND o.pay_token_hash = $2",
            columns.join(", ")
        )
    });
    let row = sqlx::query(&SELECT).bind(order_id).bind(token_hash).fetch_optional(db.pool()).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(PaymentLink {
        order: from_row(&row)?,
        business_id: row.try_get("link_business_id")?,
        shop_name: row.try_get("link_shop_name")?,
        locale: row.try_get("link_locale")?,
    }))
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<Order>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orders WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A business's orders, newest first.
pub async fn list(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<Order>> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM orders WHERE business_id = $1 ORDER BY number DESC LIMIT $2"))
            .bind(business_id)
            .bind(i64::from(limit))
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(from_row).collect()
}

/// One customer's orders with a business, newest first.
pub async fn of_customer(db: &Db, business_id: &str, customer_id: &str, limit: u32) -> StoreResult<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE business_id = $1 AND customer_id = $2 ORDER BY number DESC LIMIT $3"
    ))
    .bind(business_id)
    .bind(customer_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Cancels an open, unpaid order and gives its reserved stock back. Returns
/// false when the order was not open and unpaid (already cancelled, expired or
/// paid), in which case nothing changes: stock is never given back twice.
pub async fn cancel_unpaid(db: &Db, business_id: &str, id: &str) -> StoreResult<bool> {
    let now = ids::now_ms();
    let mut tx = db.pool().begin().await?;
    let cancelled = sqlx::query(
        "UPDATE orders SET status = 'cancelled', reserved_until = NULL, updated_at = $3 \
         WHERE business_id = $1 AND id = $2 AND status = 'open' AND payment_status IN ('pending', 'failed') \
         AND reserved_until IS NOT NULL \
         AND (payment_id IS NULL OR payment_id IN (SELECT id FROM payments WHERE status = 'requires_challenge'))",
    )
    .bind(business_id)
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if cancelled.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let lines = sqlx::query("SELECT product_id, quantity FROM order_lines WHERE order_id = $1")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    for line in &lines {
        sqlx::query("UPDATE products SET stock = stock + $3, updated_at = $4 WHERE business_id = $1 AND id = $2")
            .bind(business_id)
            .bind(line.try_get::<String, _>("product_id")?)
            .bind(line.try_get::<i64, _>("quantity")?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Open, unpaid orders whose reservation ended before `now`: (business id, order id).
pub async fn reservations_due(db: &Db, now: i64, limit: u32) -> StoreResult<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT business_id, id FROM orders WHERE reserved_until IS NOT NULL AND reserved_until < $1 \
         AND status = 'open' AND payment_status IN ('pending', 'failed') \
         AND (payment_id IS NULL OR payment_id IN (SELECT id FROM payments WHERE status = 'requires_challenge')) \
         ORDER BY reserved_until LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| Ok((row.try_get("business_id")?, row.try_get("id")?))).collect()
}
