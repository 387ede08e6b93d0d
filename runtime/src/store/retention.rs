//! Retention per business (`retention_settings`): how many days message
//! bodies are kept, the sweep that erases older ones (texts emptied, the
//! messages' metadata kept; sent queue bodies, plugin log lines and the
//! team's private notes on conversations with them), and the age of the
//! oldest body still kept.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Db, StoreResult};
use crate::ids;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A business's retention, as it reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Retention {
    /// Message bodies older than this many days are erased; `null`: kept
    /// until the customer is erased.
    pub message_days: Option<i64>,
    /// How old the oldest message body still kept is, in days (`null`: none).
    pub oldest_message_days: Option<i64>,
}

/// Sets (or with `None`, removes) a business's retention.
pub async fn set(db: &Db, business_id: &str, message_days: Option<i64>) -> StoreResult<()> {
    match message_days {
        Some(days) => {
            sqlx::query(
                "INSERT INTO retention_settings (business_id, message_days, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (business_id) DO UPDATE SET message_days = excluded.message_days, updated_at = excluded.updated_at",
            )
            .bind(business_id)
            .bind(days)
            .bind(ids::now_ms())
            .execute(db.pool())
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM retention_settings WHERE business_id = $1")
                .bind(business_id)
                .execute(db.pool())
                .await?;
        }
    }
    Ok(())
}

/// A business's retention and the age of its oldest kept message body.
pub async fn get(db: &Db, business_id: &str, now: i64) -> StoreResult<Retention> {
    let message_days: Option<i64> =
        sqlx::query_scalar("SELECT message_days FROM retention_settings WHERE business_id = $1")
            .bind(business_id)
            .fetch_optional(db.pool())
            .await?;
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT created_at FROM messages WHERE business_id = $1 AND body <> '' ORDER BY created_at LIMIT 1",
    )
    .bind(business_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(Retention { message_days, oldest_message_days: oldest.map(|at| (now - at).max(0) / DAY_MS) })
}

/// One pass of the retention sweeper: for every business with a retention,
/// the message bodies older than it are emptied (metadata kept), with the
/// bodies of settled sends, and the plugin log lines and private notes
/// (`store/notes.rs`: they may quote the customer) of that age are deleted
/// (a note is its text: nothing of it is worth keeping). Returns how many
/// message bodies were erased.
pub async fn sweep(db: &Db, now: i64) -> StoreResult<u64> {
    let settings: Vec<(String, i64)> =
        sqlx::query_as("SELECT business_id, message_days FROM retention_settings ORDER BY business_id")
            .fetch_all(db.pool())
            .await?;
    let mut erased = 0;
    for (business_id, days) in settings {
        let before = now.saturating_sub(days.saturating_mul(DAY_MS));
        erased +=
            sqlx::query("UPDATE messages SET body = '' WHERE business_id = $1 AND created_at < $2 AND body <> ''")
                .bind(&business_id)
                .bind(before)
                .execute(db.pool())
                .await?
                .rows_affected();
        sqlx::query(
            "UPDATE outbox SET body = '' WHERE business_id = $1 AND created_at < $2 AND state <> 'pending' AND body <> ''",
        )
        .bind(&business_id)
        .bind(before)
        .execute(db.pool())
        .await?;
        for table in ["plugin_logs", "conversation_notes"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE business_id = $1 AND created_at < $2"))
                .bind(&business_id)
                .bind(before)
                .execute(db.pool())
                .await?;
        }
    }
    Ok(erased)
}
