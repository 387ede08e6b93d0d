//! Cart lines of a conversation: product ids and quantities only. Prices are
//! never stored here; they are read from the catalog whenever a cart is shown
//! (see `chat::cart`).

use sqlx::FromRow;

use super::{Db, StoreResult, Stored};
use crate::ids;

/// A cart line joined with the product it names.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct StoredLine {
    pub product_id: String,
    pub quantity: i64,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    #[sqlx(try_from = "Stored<i64>")]
    pub available: bool,
    pub stock: i64,
}

/// The lines of a conversation's cart, in the order they were added; lines
/// whose product was deleted from the catalog are left out.
pub async fn lines(db: &Db, business_id: &str, conversation_id: &str) -> StoreResult<Vec<StoredLine>> {
    Ok(sqlx::query_as(
        "SELECT c.product_id, c.quantity, p.name, p.price_minor, p.currency, p.available, p.stock \
         FROM cart_lines c JOIN products p ON p.business_id = c.business_id AND p.id = c.product_id \
         WHERE c.business_id = $1 AND c.conversation_id = $2 ORDER BY c.added_at, c.product_id",
    )
    .bind(business_id)
    .bind(conversation_id)
    .fetch_all(db.pool())
    .await?)
}

/// Sets a line's quantity, adding the line if it is new.
pub async fn set_quantity(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    product_id: &str,
    quantity: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO cart_lines (conversation_id, business_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (conversation_id, product_id) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(conversation_id)
    .bind(business_id)
    .bind(product_id)
    .bind(quantity)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn remove(db: &Db, business_id: &str, conversation_id: &str, product_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM cart_lines WHERE business_id = $1 AND conversation_id = $2 AND product_id = $3")
        .bind(business_id)
        .bind(conversation_id)
        .bind(product_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn clear(db: &Db, business_id: &str, conversation_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM cart_lines WHERE business_id = $1 AND conversation_id = $2")
        .bind(business_id)
        .bind(conversation_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Replaces the whole cart (a cart the customer sent as one message).
pub async fn replace(db: &Db, business_id: &str, conversation_id: &str, lines: &[(String, i64)]) -> StoreResult<()> {
    let now = ids::now_ms();
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM cart_lines WHERE business_id = $1 AND conversation_id = $2")
        .bind(business_id)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
    for (position, (product_id, quantity)) in (0i64..).zip(lines) {
        sqlx::query(
            "INSERT INTO cart_lines (conversation_id, business_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(conversation_id)
        .bind(business_id)
        .bind(product_id)
        .bind(*quantity)
        .bind(now + position)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
