//! The durable outbound queue every push transport delivers from.
//!
//! At-least-once: a row is leased while it is being sent and retried after a
//! crash. In order: a row is claimed only when no earlier row of its
//! conversation is still pending, so a reply never overtakes an earlier one,
//! even with several runtime nodes (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
//! A send's body is sealed under its customer's key, bound to the send's id;
//! the recipient is the customer's sealed handle, joined in and opened when
//! the send is claimed.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;

use super::usage::{self, UsageFact};
use super::{Db, StoreError, StoreResult, Stored, queue, stored_state};
use crate::domain::billing::SendCharge;
use crate::ids;
use crate::privacy::{Binding, DataKey};

/// A queued send as the business sees it.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct OutboxEntry {
    pub id: String,
    pub conversation_id: String,
    pub message_id: String,
    pub channel: String,
    /// `pending`, `sent`, `dead` (gave up after the last attempt; may be
    /// retried) or `expired` (outside WhatsApp's 24-hour window).
    #[sqlx(try_from = "String")]
    pub state: SendState,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// `sent`, `delivered`, `read` or `failed`, as the transport reported it.
    #[sqlx(try_from = "Stored<Option<String>>")]
    pub delivery_status: Option<DeliveryStatus>,
    /// The transport's request body (without the recipient).
    #[schema(value_type = Object)]
    #[sqlx(try_from = "Stored<String>")]
    pub body: serde_json::Value,
    /// What was adapted to fit the transport's limits, if anything.
    pub adaptation: Option<String>,
    /// What the channel said the send costs: its pricing type (`regular`,
    /// `free_customer_service`...), category and the recipient's market.
    pub pricing_type: Option<String>,
    pub pricing_category: Option<String>,
    pub market: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
    /// What the send is billed, once it was delivered with a price (set by
    /// `billing::charges` from the ledger's row and the rate card).
    #[sqlx(skip)]
    pub charge: Option<SendCharge>,
    /// The ledger row of the send's delivery: its metric and when it happened.
    #[serde(skip)]
    pub usage_metric: Option<String>,
    #[serde(skip)]
    pub usage_at: Option<i64>,
}

stored_state! {
    /// Where a queued send stands. Only `pending` sends are claimed.
    SendState("send state") {
        /// Waiting for its turn or for its next attempt.
        Pending = "pending",
        /// The transport accepted it (see its `delivery_status`).
        Sent = "sent",
        /// Given up after its last attempt; the business may retry it.
        Dead = "dead",
        /// Refused without trying: outside WhatsApp's 24-hour window.
        Expired = "expired",
    }
}

stored_state! {
    /// What the transport reported of a sent message, only ever forward:
    /// `sent` < `delivered` < `read`, and `failed` is final.
    DeliveryStatus("delivery status") {
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
    }
}

/// A delivery status as stored: NULL until the transport reports one.
impl TryFrom<Stored<Option<String>>> for Option<DeliveryStatus> {
    type Error = String;

    fn try_from(word: Stored<Option<String>>) -> Result<Option<DeliveryStatus>, String> {
        word.0.map(|word| word.parse()).transpose()
    }
}

/// A send claimed for an attempt, with what sending needs.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedSend {
    pub id: String,
    pub business_id: String,
    pub conversation_id: String,
    /// The customer's pseudonym (whose key the body and handle are sealed under).
    pub customer_id: String,
    pub channel: String,
    pub body: String,
    pub attempts: i64,
    /// The customer's handle on the channel.
    #[sqlx(rename = "handle")]
    pub recipient: String,
    /// When the customer last wrote (ms), if ever.
    pub last_inbound_at: Option<i64>,
    /// The end of the claimant's lease, for a send leased as it was stored
    /// (`store::turns`); a claim's lease end is the claimant's to keep.
    #[sqlx(skip)]
    pub held_until: i64,
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

/// A send sealed for the queue: its id and its body sealed under the
/// customer's key, bound to that id.
#[derive(Debug)]
pub(super) struct SealedSend {
    pub(super) id: String,
    body: String,
    /// The request as sent (for a caller that sends it at once).
    pub(super) plain: String,
    adaptation: Option<String>,
}

/// Seals `sends` for the queue under the customer's `key`, before the
/// transaction that queues them.
pub(super) fn seal_sends(key: &DataKey, sends: &[NewSend]) -> StoreResult<Vec<SealedSend>> {
    sends
        .iter()
        .map(|send| {
            let id = ids::new_id("out");
            let body = super::data_keys::seal_with(key, body_at(&id), &send.body.to_string())?;
            Ok(SealedSend { id, body, plain: send.body.to_string(), adaptation: send.adaptation.clone() })
        })
        .collect()
}

/// Where a send's body is sealed.
fn body_at(id: &str) -> Binding<'_> {
    Binding::new("outbox", "body", id)
}

/// Queues the sends of message `message_id` (number `message_seq`) inside the
/// transaction that stores the message, so a message is queued exactly when
/// it is stored, and in its order.
pub(super) async fn insert(
    conn: &mut sqlx::AnyConnection,
    target: Target<'_>,
    message_id: &str,
    message_seq: i64,
    sends: &[SealedSend],
    now: i64,
    due: i64,
) -> StoreResult<()> {
    for (part, send) in sends.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox (id, business_id, conversation_id, message_id, channel, seq, body, state, attempts, \
             next_attempt_at, created_at, adaptation) VALUES ($1, $2, $3, $4, $5, $6, $7, $10, 0, $11, $8, $9)",
        )
        .bind(&send.id)
        .bind(target.business_id)
        .bind(target.conversation_id)
        .bind(message_id)
        .bind(target.channel)
        .bind(send_seq(message_seq, part))
        .bind(&send.body)
        .bind(now)
        .bind(&send.adaptation)
        .bind(SendState::Pending.as_str())
        .bind(due)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Claims up to `limit` due sends that head their conversation's queue, leasing
/// them until `lease_until`.
pub async fn claim_due(db: &Db, now: i64, lease_until: i64, limit: u32) -> StoreResult<Vec<ClaimedSend>> {
    let lock = queue::skip_locked(db, Some("o"));
    let ids: Vec<String> = sqlx::query_scalar(&format!(
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
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT o.id, o.business_id, o.conversation_id, c.customer_id, o.channel, o.body, o.attempts, cu.handle, \
         c.last_inbound_at \
         FROM outbox o JOIN conversations c ON c.id = o.conversation_id \
         JOIN customers cu ON cu.business_id = c.business_id AND cu.id = c.customer_id \
         WHERE o.id IN ({placeholders}) ORDER BY o.conversation_id, o.seq"
    );
    let mut query = sqlx::query_as::<_, ClaimedSend>(&sql);
    for id in &ids {
        query = query.bind(id);
    }
    let mut claimed = query.fetch_all(db.pool()).await?;
    // Opened here, the one place a send's body and recipient are read; a send
    // of an erased customer (its key gone) opens to nothing and is refused
    // by the sender as not JSON.
    for send in &mut claimed {
        send.body = db.open(&send.business_id, body_at(&send.id), &send.body).await?.unwrap_or_default();
        let row = super::conversations::customer_row(&send.business_id, &send.customer_id);
        let at = super::conversations::customer_handle_at(&row);
        send.recipient = db.open(&send.business_id, at, &send.recipient).await?.unwrap_or_default();
    }
    Ok(claimed)
}

/// Records a send the transport accepted, under its message id's keyed hash
/// ([`Db::message_key`]; a WhatsApp id encodes the customer's number, so the
/// id itself is never stored).
pub async fn mark_sent(db: &Db, business_id: &str, id: &str, external_id: Option<&str>) -> StoreResult<()> {
    let external_key = match external_id {
        Some(external_id) => Some(db.message_key(business_id, external_id).await?),
        None => None,
    };
    sqlx::query(
        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = $2, external_id = $3, last_error = NULL \
         WHERE id = $1",
    )
    .bind(id)
    .bind(ids::now_ms())
    .bind(external_key)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: retried at `next_attempt_at`, or dead when `None`.
pub async fn mark_failed(db: &Db, id: &str, error: &str, next_attempt_at: Option<i64>) -> StoreResult<()> {
    queue::record_failure(db, "outbox", id, error, next_attempt_at, SendState::Dead.as_str(), true).await
}

/// The send is refused without trying: outside the customer-service window.
pub async fn mark_expired(db: &Db, id: &str, reason: &str) -> StoreResult<()> {
    queue::record_failure(db, "outbox", id, reason, None, SendState::Expired.as_str(), false).await
}

/// What a status webhook said of a send's price: its `pricing` type and
/// category and the recipient's market, kept on the send.
#[derive(Debug, Clone, Copy)]
pub struct SendPricing<'a> {
    pub pricing_type: Option<&'a str>,
    pub category: Option<&'a str>,
    pub market: Option<&'a str>,
}

/// A delivery status the transport reported for a sent message.
#[derive(Debug, Clone, Copy)]
pub struct StatusReport<'a> {
    pub status: DeliveryStatus,
    pub error: Option<&'a str>,
    pub pricing: Option<SendPricing<'a>>,
    /// The channel charge the status bills (`billing::Meter::whatsapp_delivery`),
    /// written with it when the send is one this host tracks.
    pub charge: Option<&'a UsageFact>,
}

/// Applies a delivery status the transport reported for a sent message. Only
/// forward: sent < delivered < read, and failed is final. In the same
/// transaction, keeps the status's pricing on the send and writes its
/// channel charge (a duplicated webhook finds the charge's key and writes
/// nothing). False when the status changed nothing (unknown id, or an older
/// status arriving late). The send is named by its message id's keyed hash,
/// `external_key` ([`Db::message_key`]), as [`mark_sent`] stored it.
pub async fn apply_status(
    db: &Db,
    business_id: &str,
    external_key: &str,
    report: &StatusReport<'_>,
) -> StoreResult<bool> {
    // Without a price to record, the status alone: one statement, no transaction.
    let Some(pricing) = report.pricing else {
        return Ok(advance_status(db.pool(), business_id, external_key, report).await? > 0);
    };
    let mut tx = db.pool().begin().await?;
    let advanced = advance_status(&mut *tx, business_id, external_key, report).await?;
    let tracked = sqlx::query(
        "UPDATE outbox SET pricing_type = COALESCE($3, pricing_type), pricing_category = COALESCE($4, pricing_category), \
         market = COALESCE($5, market) WHERE business_id = $1 AND external_id = $2",
    )
    .bind(business_id)
    .bind(external_key)
    .bind(pricing.pricing_type)
    .bind(pricing.category)
    .bind(pricing.market)
    .execute(&mut *tx)
    .await?;
    if let (true, Some(charge)) = (tracked.rows_affected() > 0, report.charge) {
        usage::record(&mut tx, charge).await?;
    }
    tx.commit().await?;
    Ok(advanced > 0)
}

/// Moves a send's delivery status forward (never back); how many rows moved.
async fn advance_status<'e, E>(
    executor: E,
    business_id: &str,
    external_key: &str,
    report: &StatusReport<'_>,
) -> StoreResult<u64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
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
    .bind(external_key)
    .bind(report.status.as_str())
    .bind(report.error)
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

/// The send WhatsApp knows by `external_key` (its message id's keyed hash,
/// [`Db::message_key`]), if this host sent it and still keeps it: the send's
/// own id (a channel charge names its send so) and its message's.
pub async fn send_of_message_key(db: &Db, business_id: &str, external_key: &str) -> StoreResult<Option<SentAs>> {
    Ok(sqlx::query_as(
        "SELECT id AS send_id, message_id FROM outbox WHERE business_id = $1 AND external_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(business_id)
    .bind(external_key)
    .fetch_optional(db.pool())
    .await?)
}

/// A send as [`send_of_message_key`] finds it.
#[derive(Debug, Clone, FromRow)]
pub struct SentAs {
    pub send_id: String,
    pub message_id: String,
}

/// A business's queued sends in `state` (all when `None`), newest first.
pub async fn list(db: &Db, business_id: &str, state: Option<SendState>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
    let rows: Vec<SealedEntry> = sqlx::query_as(
        "SELECT o.id, o.conversation_id, o.message_id, o.channel, o.state, o.attempts, o.last_error, o.delivery_status, \
         o.body, o.adaptation, o.pricing_type, o.pricing_category, o.market, o.created_at, \
         u.metric AS usage_metric, u.occurred_at AS usage_at FROM outbox o \
         LEFT JOIN usage_events u ON u.business_id = o.business_id AND u.source = 'whatsapp_send' \
         AND u.source_id = o.external_id \
         WHERE o.business_id = $1 AND ($2 IS NULL OR o.state = $2) ORDER BY o.created_at DESC, o.seq DESC LIMIT $3",
    )
    .bind(business_id)
    .bind(state.map(SendState::as_str))
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        // Emptied by the customer's erasure, or its key destroyed: erased.
        let opened = if row.body.is_empty() { None } else { db.open(business_id, body_at(&row.id), &row.body).await? };
        let body = match opened {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("queued send: {e}")))?,
            None => super::conversations::erased_body(),
        };
        entries.push(OutboxEntry {
            id: row.id,
            conversation_id: row.conversation_id,
            message_id: row.message_id,
            channel: row.channel,
            state: row.state,
            attempts: row.attempts,
            last_error: row.last_error,
            delivery_status: row.delivery_status,
            body,
            adaptation: row.adaptation,
            pricing_type: row.pricing_type,
            pricing_category: row.pricing_category,
            market: row.market,
            created_at: row.created_at,
            charge: None,
            usage_metric: row.usage_metric,
            usage_at: row.usage_at,
        });
    }
    Ok(entries)
}

/// A queued send as stored, its body sealed.
#[derive(Debug, FromRow)]
struct SealedEntry {
    id: String,
    conversation_id: String,
    message_id: String,
    channel: String,
    #[sqlx(try_from = "String")]
    state: SendState,
    attempts: i64,
    last_error: Option<String>,
    #[sqlx(try_from = "Stored<Option<String>>")]
    delivery_status: Option<DeliveryStatus>,
    body: String,
    adaptation: Option<String>,
    pricing_type: Option<String>,
    pricing_category: Option<String>,
    market: Option<String>,
    created_at: i64,
    usage_metric: Option<String>,
    usage_at: Option<i64>,
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

/// Extends the lease of send `id` this node holds until `held_until` to
/// `until`; false when it no longer holds it (another node took it over).
pub async fn extend_lease(db: &Db, id: &str, held_until: i64, until: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET next_attempt_at = $3 WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2",
    )
    .bind(id)
    .bind(held_until)
    .bind(until)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back the sends in `held` that this node claimed and did not settle:
/// due at `now` for any node (see `queue::release`). Returns how many.
pub async fn release(db: &Db, held: &queue::Held, now: i64) -> StoreResult<usize> {
    queue::release(db, "outbox", held, now).await
}
