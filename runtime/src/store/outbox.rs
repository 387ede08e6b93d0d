//! The durable outbound queue every push transport delivers from.
//!
//! At-least-once: a row is leased while it is being sent and retried after a
//! crash. In order: a row is claimed only when no earlier row of its
//! conversation is still pending, so a reply never overtakes an earlier one,
//! even with several runtime nodes (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::{Db, StoreResult, queue};
use crate::ids;

/// A queued send as the business sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxEntry {
    pub id: String,
    pub conversation_id: String,
    pub message_id: String,
    pub channel: String,
    /// `pending`, `sent`, `dead` (gave up after the last attempt; may be
    /// retried) or `expired` (outside WhatsApp's 24-hour window).
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// `sent`, `delivered`, `read` or `failed`, as the transport reported it.
    pub delivery_status: Option<String>,
    /// The transport's request body (without the recipient).
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// What was adapted to fit the transport's limits, if anything.
    pub adaptation: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

/// A send claimed for an attempt, with what sending needs.
#[derive(Debug, Clone)]
pub struct ClaimedSend {
    pub id: String,
    pub business_id: String,
    pub conversation_id: String,
    pub channel: String,
    pub body: String,
    pub attempts: i64,
    /// The customer's handle on the channel.
    pub recipient: String,
    /// When the customer last wrote (ms), if ever.
    pub last_inbound_at: Option<i64>,
}

/// One send to queue for a message.
#[derive(Debug, Clone)]
pub struct NewSend {
    /// The transport's request body, without the recipient.
    pub body: serde_json::Value,
    /// What was adapted to fit the transport's limits, if anything.
    pub adaptation: Option<String>,
}

/// Sends of one message keep the message's place: part `part` of message `seq`.
pub fn send_seq(message_seq: i64, part: usize) -> i64 {
    message_seq.saturating_mul(1000).saturating_add(i64::try_from(part).unwrap_or(999).min(999))
}

/// Where queued sends belong.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub business_id: &'a str,
    pub conversation_id: &'a str,
    pub channel: &'a str,
}

/// Queues the sends of message `message_id` (number `message_seq`) inside the
/// transaction that stores the message, so a message is queued exactly when
/// it is stored, and in its order.
pub(super) async fn insert(
    conn: &mut sqlx::AnyConnection,
    target: Target<'_>,
    message_id: &str,
    message_seq: i64,
    sends: &[NewSend],
    now: i64,
) -> StoreResult<()> {
    for (part, send) in sends.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox (id, business_id, conversation_id, message_id, channel, seq, body, state, attempts, \
             next_attempt_at, created_at, adaptation) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $9)",
        )
        .bind(ids::new_id("out"))
        .bind(target.business_id)
        .bind(target.conversation_id)
        .bind(message_id)
        .bind(target.channel)
        .bind(send_seq(message_seq, part))
        .bind(send.body.to_string())
        .bind(now)
        .bind(&send.adaptation)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Claims up to `limit` due sends that head their conversation's queue, leasing
/// them until `lease_until`.
pub async fn claim_due(db: &Db, now: i64, lease_until: i64, limit: u32) -> StoreResult<Vec<ClaimedSend>> {
    let lock = queue::skip_locked(db, Some("o"));
    let claimed = sqlx::query(&format!(
        "UPDATE outbox SET next_attempt_at = $2 WHERE id IN \
         (SELECT o.id FROM outbox o WHERE o.state = 'pending' AND o.next_attempt_at <= $1 \
          AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.conversation_id = o.conversation_id \
                          AND e.state = 'pending' AND e.seq < o.seq) \
          ORDER BY o.next_attempt_at LIMIT $3{lock}) \
         RETURNING id"
    ))
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = claimed.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    let placeholders = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT o.id, o.business_id, o.conversation_id, o.channel, o.body, o.attempts, cu.handle, c.last_inbound_at \
         FROM outbox o JOIN conversations c ON c.id = o.conversation_id \
         JOIN customers cu ON cu.business_id = c.business_id AND cu.id = c.customer_id \
         WHERE o.id IN ({placeholders}) ORDER BY o.conversation_id, o.seq"
    );
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(id);
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(ClaimedSend {
                id: row.try_get("id")?,
                business_id: row.try_get("business_id")?,
                conversation_id: row.try_get("conversation_id")?,
                channel: row.try_get("channel")?,
                body: row.try_get("body")?,
                attempts: row.try_get("attempts")?,
                recipient: row.try_get("handle")?,
                last_inbound_at: row.try_get("last_inbound_at")?,
            })
        })
        .collect()
}

pub async fn mark_sent(db: &Db, id: &str, external_id: Option<&str>) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = $2, external_id = $3, last_error = NULL \
         WHERE id = $1",
    )
    .bind(id)
    .bind(ids::now_ms())
    .bind(external_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: retried at `next_attempt_at`, or dead when `None`.
pub async fn mark_failed(db: &Db, id: &str, error: &str, next_attempt_at: Option<i64>) -> StoreResult<()> {
    queue::record_failure(db, "outbox", id, error, next_attempt_at, "dead", true).await
}

/// The send is refused without trying: outside the customer-service window.
pub async fn mark_expired(db: &Db, id: &str, reason: &str) -> StoreResult<()> {
    queue::record_failure(db, "outbox", id, reason, None, "expired", false).await
}

/// Applies a delivery status the transport reported for a sent message. Only
/// forward: sent < delivered < read, and failed is final. False when nothing
/// changed (unknown id, or an older status arriving late).
pub async fn apply_status(
    db: &Db,
    business_id: &str,
    external_id: &str,
    status: &str,
    error: Option<&str>,
) -> StoreResult<bool> {
    const RANK: &str =
        "CASE {} WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END";
    let rank = |expr: &str| RANK.replace("{}", expr);
    let done = sqlx::query(&format!(
        "UPDATE outbox SET delivery_status = $3, last_error = COALESCE($4, last_error) \
         WHERE business_id = $1 AND external_id = $2 AND {} > {}",
        rank("$3"),
        rank("COALESCE(delivery_status, '')")
    ))
    .bind(business_id)
    .bind(external_id)
    .bind(status)
    .bind(error)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A business's queued sends in `state` (all when `None`), newest first.
pub async fn list(db: &Db, business_id: &str, state: Option<&str>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
    let rows = sqlx::query(
        "SELECT id, conversation_id, message_id, channel, state, attempts, last_error, delivery_status, body, adaptation, created_at \
         FROM outbox WHERE business_id = $1 AND ($2 IS NULL OR state = $2) ORDER BY created_at DESC, seq DESC LIMIT $3",
    )
    .bind(business_id)
    .bind(state)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let body: String = row.try_get("body")?;
            Ok(OutboxEntry {
                id: row.try_get("id")?,
                conversation_id: row.try_get("conversation_id")?,
                message_id: row.try_get("message_id")?,
                channel: row.try_get("channel")?,
                state: row.try_get("state")?,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
                delivery_status: row.try_get("delivery_status")?,
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
                adaptation: row.try_get("adaptation")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Puts a dead send back in the queue with fresh attempts; false when it is not dead.
pub async fn retry(db: &Db, business_id: &str, id: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $3, last_error = NULL \
         WHERE business_id = $1 AND id = $2 AND state = 'dead'",
    )
    .bind(business_id)
    .bind(id)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back the sends in `held` that this node claimed and did not settle:
/// due at `now` for any node (see `queue::release`). Returns how many.
pub async fn release(db: &Db, held: &queue::Held, now: i64) -> StoreResult<usize> {
    queue::release(db, "outbox", held, now).await
}
