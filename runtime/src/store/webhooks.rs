//! The business's webhook endpoint and the durable queue of deliveries to it.
//! Deliveries are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL (so
//! several runtime nodes share the queue) and under a lease, so a crashed
//! attempt is retried, never lost.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::data_keys::KeyOwner;
use super::{Db, StoreResult, audit, queue, stored_state};
use crate::ids;
use crate::privacy::Binding;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Delivery {
    pub id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    #[sqlx(try_from = "String")]
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

stored_state! {
    /// Where a webhook delivery stands. Only `pending` deliveries are claimed.
    DeliveryState("webhook delivery state") {
        /// Waiting for its first or next attempt.
        Pending = "pending",
        /// The business's endpoint accepted it.
        Delivered = "delivered",
        /// Given up after its last attempt.
        Failed = "failed",
    }
}

/// A delivery claimed for an attempt.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    pub id: String,
    pub business_id: String,
    pub payload: String,
    pub attempts: i64,
}

/// Sets (or with `None`, clears) the business's endpoint; the secret is
/// stored sealed under the business's secrets key.
pub async fn set_endpoint(db: &Db, business_id: &str, url: Option<&str>, secret: Option<&str>) -> StoreResult<()> {
    let sealed = match secret {
        Some(secret) => Some(db.seal(business_id, KeyOwner::Secrets, secret_at(business_id), secret).await?),
        None => None,
    };
    sqlx::query("UPDATE businesses SET webhook_url = $2, webhook_secret = $3 WHERE id = $1")
        .bind(business_id)
        .bind(url)
        .bind(sealed)
        .execute(db.pool())
        .await?;
    let subject = if secret.is_some() { "webhook_secret" } else { "webhook_secret removed" };
    let entry = audit::Entry { business_id, actor: "business", action: "secret.changed", subject, outcome: "ok" };
    audit::append(db, entry).await
}

/// (url, secret) of a business's endpoint, if it set one.
pub async fn endpoint(db: &Db, business_id: &str) -> StoreResult<Option<(String, String)>> {
    let endpoint: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT webhook_url, webhook_secret FROM businesses WHERE id = $1")
            .bind(business_id)
            .fetch_optional(db.pool())
            .await?;
    let Some((url, secret)) = endpoint.and_then(|(url, secret)| url.zip(secret)) else { return Ok(None) };
    let secret = db.open_required(business_id, secret_at(business_id), &secret).await?;
    Ok(Some((url, secret)))
}

/// Where a business's webhook secret is sealed.
fn secret_at(business_id: &str) -> Binding<'_> {
    Binding::new("businesses", "webhook_secret", business_id)
}

/// Queues an event for the business's endpoint, in one statement that does
/// nothing when the business has no endpoint.
pub async fn enqueue(db: &Db, business_id: &str, event_type: &str, payload: &str) -> StoreResult<()> {
    enqueue_on(db.pool(), business_id, event_type, payload).await
}

/// Like [`enqueue`], on any connection: a transaction that makes the change an
/// event reports queues its delivery too, so a crash can lose neither alone.
pub async fn enqueue_on<'c, E>(executor: E, business_id: &str, event_type: &str, payload: &str) -> StoreResult<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, business_id, event_type, payload, state, attempts, next_attempt_at, created_at) \
         SELECT $1, id, $3, $4, $6, 0, $5, $5 FROM businesses WHERE id = $2 AND webhook_url IS NOT NULL",
    )
    .bind(ids::new_id("whd"))
    .bind(business_id)
    .bind(event_type)
    .bind(payload)
    .bind(ids::now_ms())
    .bind(DeliveryState::Pending.as_str())
    .execute(executor)
    .await?;
    Ok(())
}

/// The body of an event delivery: `data` is the event's subject, e.g. `{"order": …}`.
pub fn event_payload(event_type: &str, data: serde_json::Value) -> String {
    serde_json::json!({
        "id": ids::new_id("evt"),
        "type": event_type,
        "created_at": ids::rfc3339(ids::now_ms()),
        "data": data,
    })
    .to_string()
}

/// Claims up to `limit` deliveries due at `now`, leasing them until `lease_until`.
pub async fn claim_due(db: &Db, now: i64, lease_until: i64, limit: u32) -> StoreResult<Vec<ClaimedDelivery>> {
    Ok(sqlx::query_as(&queue::claim_sql(
        db,
        "webhook_deliveries",
        "next_attempt_at",
        "id, business_id, payload, attempts",
    ))
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

pub async fn mark_delivered(db: &Db, id: &str) -> StoreResult<()> {
    let now = ids::now_ms();
    sqlx::query(
        "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, delivered_at = $2, last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(DeliveryState::Delivered.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: retried at `next_attempt_at`, or given up when `None`.
pub async fn mark_attempt_failed(db: &Db, id: &str, error: &str, next_attempt_at: Option<i64>) -> StoreResult<()> {
    queue::record_failure(db, "webhook_deliveries", id, error, next_attempt_at, DeliveryState::Failed.as_str(), true)
        .await
}

/// A business's deliveries, newest first.
pub async fn list(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<Delivery>> {
    Ok(sqlx::query_as(
        "SELECT id, event_type, state, attempts, last_error, created_at FROM webhook_deliveries WHERE business_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(business_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// Gives back the deliveries in `held` that this node claimed and did not settle:
/// due at `now` for any node (see `queue::release`). Returns how many.
pub async fn release(db: &Db, held: &queue::Held, now: i64) -> StoreResult<usize> {
    queue::release(db, "webhook_deliveries", held, now).await
}
