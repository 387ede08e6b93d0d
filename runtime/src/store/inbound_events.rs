//! Inbound transport events (a WhatsApp webhook's messages), persisted before
//! the webhook is acknowledged and processed afterwards by a worker. The
//! transport's message id is unique per business and channel, so a delivery
//! the transport retries is recorded once and answered once. Claimed with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, under a lease. The payload is
//! sealed while it waits and purged once processed; the sender is kept as a
//! blind index only.

use sqlx::FromRow;

use super::data_keys::KeyOwner;
use super::{Db, StoreResult, queue, stored_state};
use crate::ids;
use crate::privacy::Binding;

/// Where an event's payload is sealed (under the business's secrets key: the
/// customer is not known yet when it arrives).
fn payload_at(id: &str) -> Binding<'_> {
    Binding::new("inbound_events", "payload", id)
}

stored_state! {
    /// Where an inbound event stands. Only `pending` events are claimed.
    EventState("inbound event state") {
        /// Waiting to be processed (or for its next attempt).
        Pending = "pending",
        /// Processed: its turn is in the conversation.
        Done = "done",
        /// Given up after its last attempt.
        Failed = "failed",
    }
}

/// An inbound event claimed for processing, under a lease.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedEvent {
    pub id: String,
    pub business_id: String,
    pub channel: String,
    pub payload: String,
    pub attempts: i64,
    /// When it was recorded: its place in its sender's order.
    pub created_at: i64,
    /// Who sent it (a hash of channel and handle), for keeping one sender's
    /// events in order; `None` for events recorded before it was kept.
    pub sender_key: Option<String>,
    /// The end of the claimant's lease (set by the claim, not read).
    #[sqlx(skip)]
    pub held_until: i64,
}

/// What an event is, as a transport received it.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub business_id: &'a str,
    pub channel: &'a str,
    /// The customer's handle on the channel (kept only as a hash here).
    pub sender: &'a str,
    /// The transport's message id (kept only as its keyed hash,
    /// [`Db::message_key`]: a WhatsApp id encodes the customer's number).
    pub external_id: &'a str,
    pub payload: &'a str,
}

/// Records an event already claimed by the caller, who processes it at once:
/// leased until `lease_until`, after which any worker may take it (the caller
/// died; a lease ending now leaves it to the worker). `None` when its external
/// id was seen before.
pub async fn record_claimed(db: &Db, new: NewEvent<'_>, lease_until: i64) -> StoreResult<Option<ClaimedEvent>> {
    let id = ids::new_id("ine");
    let now = ids::now_ms();
    // Keyed, so the queue cannot be searched for a phone number (see `privacy`).
    let sender_key = db.blind_index(new.business_id, &format!("{}:{}", new.channel, new.sender)).await?;
    let sealed = db.seal(new.business_id, KeyOwner::Secrets, payload_at(&id), new.payload).await?;
    let external_key = db.message_key(new.business_id, new.external_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO inbound_events (id, business_id, channel, external_id, payload, state, attempts, next_attempt_at, \
         created_at, sender_key) VALUES ($1, $2, $3, $4, $5, $8, 0, $6, $7, $9) \
         ON CONFLICT (business_id, channel, external_id) DO NOTHING",
    )
    .bind(&id)
    .bind(new.business_id)
    .bind(new.channel)
    .bind(&external_key)
    .bind(&sealed)
    .bind(lease_until)
    .bind(now)
    .bind(EventState::Pending.as_str())
    .bind(&sender_key)
    .execute(db.pool())
    .await?;
    Ok((inserted.rows_affected() == 1).then(|| ClaimedEvent {
        id,
        business_id: new.business_id.to_string(),
        channel: new.channel.to_string(),
        payload: new.payload.to_string(),
        attempts: 0,
        created_at: now,
        sender_key: Some(sender_key),
        held_until: lease_until,
    }))
}

/// Where a claimant's event stands as its turn begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hold {
    /// Still the claimant's.
    Held,
    /// An earlier event of the same sender is still pending (being processed
    /// by another node, or waiting for a retry): this one must wait, so one
    /// conversation's messages are answered in order on any node.
    WaitsForEarlier,
    /// No longer the claimant's: its lease ran out and another took it, or it
    /// was settled.
    Lost,
}

/// On `conn` (inside the turn's transaction, as its first write, which
/// locks the row until the transaction ends): whether the claimant still
/// holds `event` (its lease end unchanged) and no earlier event of its sender
/// is pending.
pub(super) async fn hold_on(conn: &mut sqlx::AnyConnection, event: &ClaimedEvent) -> StoreResult<Hold> {
    let earlier: Option<i64> = sqlx::query_scalar(
        "UPDATE inbound_events SET next_attempt_at = $2 WHERE id = $1 AND state = $3 AND next_attempt_at = $2 \
         RETURNING (SELECT COUNT(*) FROM inbound_events e WHERE e.business_id = $4 AND e.sender_key = $5 \
         AND e.state = $3 AND e.id <> $1 AND (e.created_at < $6 OR (e.created_at = $6 AND e.id < $1)))",
    )
    .bind(&event.id)
    .bind(event.held_until)
    .bind(EventState::Pending.as_str())
    .bind(&event.business_id)
    .bind(&event.sender_key)
    .bind(event.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match earlier {
        None => Hold::Lost,
        Some(0) => Hold::Held,
        Some(_) => Hold::WaitsForEarlier,
    })
}

/// On `conn` (inside the transaction that stores the event's replies):
/// settles an event the claimant holds until `held_until`, purging its
/// payload (the message is in its conversation now, and the raw event is kept
/// no longer than it is needed). False when the claimant no longer holds it.
pub(super) async fn settle_on(conn: &mut sqlx::AnyConnection, id: &str, held_until: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE inbound_events SET state = $3, attempts = attempts + 1, last_error = NULL, payload = '' \
         WHERE id = $1 AND state = $4 AND next_attempt_at = $2",
    )
    .bind(id)
    .bind(held_until)
    .bind(EventState::Done.as_str())
    .bind(EventState::Pending.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts back an event this claimant holds, due again at `due`, without
/// counting an attempt (it waits for an earlier one of its sender).
pub async fn defer(db: &Db, event: &ClaimedEvent, due: i64) -> StoreResult<()> {
    sqlx::query("UPDATE inbound_events SET next_attempt_at = $3 WHERE id = $1 AND state = $4 AND next_attempt_at = $2")
        .bind(&event.id)
        .bind(event.held_until)
        .bind(due)
        .bind(EventState::Pending.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Claims up to `limit` due events, oldest first, leasing them until `lease_until`.
pub async fn claim_due(db: &Db, now: i64, lease_until: i64, limit: u32) -> StoreResult<Vec<ClaimedEvent>> {
    let mut claimed: Vec<ClaimedEvent> = sqlx::query_as(&queue::claim_sql(
        db,
        "inbound_events",
        "created_at, id",
        "id, business_id, channel, payload, attempts, created_at, sender_key",
    ))
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    // RETURNING does not keep the subquery's order.
    claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    for event in &mut claimed {
        event.payload = db.open(&event.business_id, payload_at(&event.id), &event.payload).await?.unwrap_or_default();
    }
    Ok(claimed.into_iter().map(|event| ClaimedEvent { held_until: lease_until, ..event }).collect())
}

/// Records a failed attempt: retried at `next_attempt_at`, or given up when `None`.
pub async fn mark_failed(db: &Db, id: &str, error: &str, next_attempt_at: Option<i64>) -> StoreResult<()> {
    queue::record_failure(db, "inbound_events", id, error, next_attempt_at, EventState::Failed.as_str(), true).await
}

/// Gives back the events in `held` that this node claimed and did not settle:
/// due at `now` for any node (see `queue::release`). Returns how many.
pub async fn release(db: &Db, held: &queue::Held, now: i64) -> StoreResult<usize> {
    queue::release(db, "inbound_events", held, now).await
}
