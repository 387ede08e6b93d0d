//! Orders, their lines and their timeline. Checkout takes the lines' stock from
//! the catalog in the same transaction that creates the order (one conditional
//! update per line, taken in product order so two checkouts never deadlock;
//! the number from the business's counter row, so they never collide); a
//! cancelled or expired order gives it back, exactly once.
//!
//! Every change of an order's states goes through [`apply`], which writes it
//! only if the order still stands where the caller read it, and in the same
//! transaction records the change in the order's timeline (`order_events`) and
//! queues the business's webhook. Which change to make is decided by
//! `commerce::orders` and `commerce::payments`; this module only enforces it.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow, Row};
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::{Db, StoreError, StoreResult, webhooks};
use crate::domain::cart::PricedCart;
use crate::domain::states::{FulfillmentStatus, OrderEventKind, OrderStatus, PaymentStatus};
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Order {
    pub id: String,
    /// 1, 2, 3... per business.
    pub number: i64,
    pub conversation_id: String,
    /// The customer's pseudonym.
    pub customer_id: String,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    #[sqlx(try_from = "String")]
    pub payment_status: PaymentStatus,
    #[sqlx(try_from = "String")]
    pub fulfillment_status: FulfillmentStatus,
    pub currency: String,
    pub subtotal_minor: i64,
    pub total_minor: i64,
    /// The priced cart at checkout: lines, discounts, totals.
    #[sqlx(try_from = "String")]
    pub cart: PricedCart,
    /// Until when the stock is held for this unpaid order (ms since the epoch).
    #[sqlx(rename = "reserved_until")]
    pub reserved_until_ms: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
    /// The payment attempt in progress (or the one that captured).
    #[serde(skip)]
    pub payment_id: Option<String>,
}

impl TryFrom<String> for PricedCart {
    type Error = String;

    fn try_from(json: String) -> Result<PricedCart, String> {
        serde_json::from_str(&json).map_err(|e| format!("order cart: {e}"))
    }
}

/// An order to create.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub business_id: &'a str,
    pub conversation_id: &'a str,
    pub customer_id: &'a str,
    pub cart: &'a PricedCart,
    pub reserved_until: i64,
    /// SHA-256 of the payment link's token.
    pub pay_token_hash: String,
}

/// Checkout could not take a line's stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfStock {
    pub product_id: String,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct OrderEvent {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    pub order_id: String,
    #[sqlx(try_from = "String")]
    pub kind: OrderEventKind,
    pub detail: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

/// A change of an order's states, decided by its lifecycle owner.
#[derive(Debug, Clone)]
pub struct OrderChange {
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfillment_status: FulfillmentStatus,
    /// The payment attempt the order holds afterwards.
    pub payment_id: Option<String>,
    /// Give the lines' stock back (a cancelled or expired order).
    pub release_stock: bool,
    /// The stock is no longer held for a while: kept for good (paid) or given back.
    pub end_reservation: bool,
    /// The timeline entry (its webhook and bot event follow from its kind).
    pub event: Option<OrderEventKind>,
    pub detail: Option<String>,
}

impl OrderChange {
    /// No change of `order`: what a lifecycle owner's decision starts from.
    pub fn keeping(order: &Order) -> OrderChange {
        OrderChange {
            status: order.status,
            payment_status: order.payment_status,
            fulfillment_status: order.fulfillment_status,
            payment_id: order.payment_id.clone(),
            release_stock: false,
            end_reservation: false,
            event: None,
            detail: None,
        }
    }
}

pub(super) const COLUMNS: &str = "id, number, conversation_id, customer_id, status, payment_status, fulfillment_status, \
     currency, subtotal_minor, total_minor, cart, reserved_until, created_at, payment_id";

/// Creates an order, taking its lines' stock, all or nothing. Concurrent
/// checkouts wait for each other's stock rows and the business's order
/// counter; they never fail for having met. The cart is emptied later, in the
/// transaction that stores the checkout's answer (`conversations::Outgoing`).
pub async fn create_reserving(db: &Db, new: &NewOrder<'_>) -> StoreResult<Result<Order, OutOfStock>> {
    let now = ids::now_ms();
    let id = ids::new_id("ord");
    let mut tx = db.pool().begin().await?;
    // Rows are locked in one order (by product id) by every checkout.
    let mut lines: Vec<(&str, i64)> = new.cart.lines.iter().map(|l| (l.product_id.as_str(), l.quantity)).collect();
    lines.sort_unstable();
    for (product_id, quantity) in &lines {
        let taken = sqlx::query(
            "UPDATE products SET stock = stock - $3, updated_at = $4 \
             WHERE business_id = $1 AND id = $2 AND available = 1 AND stock >= $3",
        )
        .bind(new.business_id)
        .bind(*product_id)
        .bind(*quantity)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Err(OutOfStock { product_id: (*product_id).to_string() }));
        }
    }
    let number: i64 = sqlx::query(
        "INSERT INTO order_numbers (business_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (business_id) DO UPDATE SET last_number = order_numbers.last_number + 1 RETURNING last_number",
    )
    .bind(new.business_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("last_number")?;
    let cart = serde_json::to_string(new.cart).map_err(|e| StoreError::Corrupt(format!("order cart: {e}")))?;
    let order: Order = sqlx::query_as(&format!(
        "INSERT INTO orders (id, business_id, conversation_id, customer_id, number, status, payment_status, \
         fulfillment_status, currency, subtotal_minor, total_minor, cart, reserved_until, created_at, updated_at, pay_token_hash) \
         VALUES ($1, $2, $3, $4, $5, 'open', 'pending', 'unfulfilled', $6, $7, $8, $9, $10, $11, $11, $12) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(new.business_id)
    .bind(new.conversation_id)
    .bind(new.customer_id)
    .bind(number)
    .bind(&new.cart.total.currency)
    .bind(new.cart.subtotal.amount_minor)
    .bind(new.cart.total.amount_minor)
    .bind(cart)
    .bind(new.reserved_until)
    .bind(now)
    .bind(&new.pay_token_hash)
    .fetch_one(&mut *tx)
    .await?;
    for (product_id, quantity) in &lines {
        sqlx::query("INSERT INTO order_lines (order_id, product_id, quantity) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(*product_id)
            .bind(*quantity)
            .execute(&mut *tx)
            .await?;
    }
    record_event(&mut tx, new.business_id, &id, OrderEventKind::Created, None, true).await?;
    tx.commit().await?;
    Ok(Ok(order))
}

/// Writes `change` if the order still stands as `read` says (states and
/// payment slot); `None` when it moved meanwhile (another request, node or the
/// sweeper won), in which case nothing is written. The timeline entry and the
/// webhook are written in the same transaction.
pub async fn apply(db: &Db, business_id: &str, read: &Order, change: &OrderChange) -> StoreResult<Option<Order>> {
    let mut tx = db.pool().begin().await?;
    let changed = apply_on(&mut tx, business_id, read, change).await?;
    if changed.is_some() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(changed)
}

/// [`apply`] within a transaction the caller owns (a payment's outcome and its
/// order's change commit together).
pub(super) async fn apply_on(
    conn: &mut AnyConnection,
    business_id: &str,
    read: &Order,
    change: &OrderChange,
) -> StoreResult<Option<Order>> {
    let now = ids::now_ms();
    let order: Option<Order> = sqlx::query_as(&format!(
        "UPDATE orders SET status = $3, payment_status = $4, fulfillment_status = $5, payment_id = $6, \
         reserved_until = CASE WHEN $7 = 1 THEN NULL ELSE reserved_until END, updated_at = $8 \
         WHERE business_id = $1 AND id = $2 AND status = $9 AND payment_status = $10 AND fulfillment_status = $11 \
         AND payment_id IS NOT DISTINCT FROM $12 RETURNING {COLUMNS}"
    ))
    .bind(business_id)
    .bind(&read.id)
    .bind(change.status.as_str())
    .bind(change.payment_status.as_str())
    .bind(change.fulfillment_status.as_str())
    .bind(change.payment_id.as_deref())
    .bind(i64::from(change.end_reservation || change.release_stock))
    .bind(now)
    .bind(read.status.as_str())
    .bind(read.payment_status.as_str())
    .bind(read.fulfillment_status.as_str())
    .bind(read.payment_id.as_deref())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(order) = order else { return Ok(None) };
    if change.release_stock {
        let lines = sqlx::query("SELECT product_id, quantity FROM order_lines WHERE order_id = $1 ORDER BY product_id")
            .bind(&order.id)
            .fetch_all(&mut *conn)
            .await?;
        for line in &lines {
            sqlx::query("UPDATE products SET stock = stock + $3, updated_at = $4 WHERE business_id = $1 AND id = $2")
                .bind(business_id)
                .bind(line.try_get::<String, _>("product_id")?)
                .bind(line.try_get::<i64, _>("quantity")?)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
    }
    if let Some(kind) = change.event {
        record_event(conn, business_id, &order.id, kind, change.detail.as_deref(), !kind.tells_bot()).await?;
        if let Some(event_type) = kind.webhook_type() {
            let payload = webhooks::event_payload(event_type, serde_json::json!({ "order": &order }));
            webhooks::enqueue_on(&mut *conn, business_id, event_type, &payload).await?;
        }
    }
    Ok(Some(order))
}

async fn record_event(
    conn: &mut AnyConnection,
    business_id: &str,
    order_id: &str,
    kind: OrderEventKind,
    detail: Option<&str>,
    dispatched: bool,
) -> StoreResult<()> {
    let now = ids::now_ms();
    sqlx::query(
        "INSERT INTO order_events (id, business_id, order_id, kind, detail, created_at, dispatched_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ids::new_id("oev"))
    .bind(business_id)
    .bind(order_id)
    .bind(kind.as_str())
    .bind(detail)
    .bind(now)
    .bind(dispatched.then_some(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// An order's timeline, oldest first.
pub async fn timeline(db: &Db, business_id: &str, order_id: &str) -> StoreResult<Vec<OrderEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, business_id, order_id, kind, detail, created_at FROM order_events \
         WHERE business_id = $1 AND order_id = $2 ORDER BY created_at, id",
    )
    .bind(business_id)
    .bind(order_id)
    .fetch_all(db.pool())
    .await?)
}

/// Claims up to `limit` order events whose follow-ups are not done (of one
/// order, or of any whose claim lapsed), leasing them until `lease_until`.
pub async fn claim_undispatched(
    db: &Db,
    order_id: Option<&str>,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> StoreResult<Vec<OrderEvent>> {
    Ok(sqlx::query_as(
        "UPDATE order_events SET lease_until = $2 WHERE id IN (SELECT id FROM order_events \
         WHERE dispatched_at IS NULL AND (lease_until IS NULL OR lease_until < $1) AND ($3 IS NULL OR order_id = $3) \
         ORDER BY created_at LIMIT $4) AND dispatched_at IS NULL AND (lease_until IS NULL OR lease_until < $1) \
         RETURNING id, business_id, order_id, kind, detail, created_at",
    )
    .bind(now)
    .bind(lease_until)
    .bind(order_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// The follow-ups of an order event are done.
pub async fn mark_dispatched(db: &Db, event_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE order_events SET dispatched_at = $2 WHERE id = $1")
        .bind(event_id)
        .bind(ids::now_ms())
        .execute(db.pool())
        .await?;
    Ok(())
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
        order: Order::from_row(&row)?,
        business_id: row.try_get("link_business_id")?,
        shop_name: row.try_get("link_shop_name")?,
        locale: row.try_get("link_locale")?,
    }))
}

/// Gives an order's payment link a new token (the old link stops working).
pub async fn renew_payment_link(db: &Db, business_id: &str, order_id: &str, token_hash: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE orders SET pay_token_hash = $3 WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(order_id)
        .bind(token_hash)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<Order>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// A business's orders, newest first.
pub async fn list(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<Order>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE business_id = $1 ORDER BY number DESC LIMIT $2"))
        .bind(business_id)
        .bind(i64::from(limit))
        .fetch_all(db.pool())
        .await?)
}

/// One customer's orders with a business, newest first.
pub async fn of_customer(db: &Db, business_id: &str, customer_id: &str, limit: u32) -> StoreResult<Vec<Order>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE business_id = $1 AND customer_id = $2 ORDER BY number DESC LIMIT $3"
    ))
    .bind(business_id)
    .bind(customer_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// The conversation's newest order still waiting for its payment (open,
/// unpaid, its stock held), if any.
pub async fn awaiting_payment(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    now: i64,
) -> StoreResult<Option<Order>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE business_id = $1 AND conversation_id = $2 AND status = 'open' \
         AND payment_status IN ('pending', 'failed') AND reserved_until > $3 ORDER BY number DESC LIMIT 1"
    ))
    .bind(business_id)
    .bind(conversation_id)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// Open, unpaid orders whose reservation ended before `now`.
pub async fn reservations_due(db: &Db, now: i64, limit: u32) -> StoreResult<Vec<(String, Order)>> {
    let rows = sqlx::query(&format!(
        "SELECT business_id, {COLUMNS} FROM orders WHERE reserved_until IS NOT NULL AND reserved_until < $1 \
         AND status = 'open' AND payment_status IN ('pending', 'failed') ORDER BY reserved_until LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| Ok((row.try_get("business_id")?, Order::from_row(row)?))).collect()
}

/// Orders of one currency created since a moment: how many, and what those
/// paid add up to (captured, less nothing refunded: `captured` and
/// `partially_refunded` orders at their total).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Sales {
    pub currency: String,
    pub orders: i64,
    pub paid_minor: i64,
}

/// A business's orders created at or after `since` (ms), per currency.
pub async fn sales_since(db: &Db, business_id: &str, since: i64) -> StoreResult<Vec<Sales>> {
    Ok(sqlx::query_as(
        "SELECT currency, CAST(COUNT(*) AS BIGINT) AS orders, \
         CAST(COALESCE(SUM(CASE WHEN payment_status IN ('captured', 'partially_refunded') THEN total_minor ELSE 0 END), 0) AS BIGINT) AS paid_minor \
         FROM orders WHERE business_id = $1 AND created_at >= $2 GROUP BY currency ORDER BY currency",
    )
    .bind(business_id)
    .bind(since)
    .fetch_all(db.pool())
    .await?)
}
