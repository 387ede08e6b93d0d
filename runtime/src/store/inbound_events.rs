//! Inbound transport events (a WhatsApp webhook's messages), persisted before
//! the webhook is acknowledged and processed afterwards by a worker. The
//! transport's message id is unique per business and channel, so a delivery
//! the transport retries is recorded once and answered once. Claimed with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, under a lease.

use sqlx::FromRow;

use super::{Db, StoreResult, queue, stored_state};
use crate::ids;

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
    /// The end of the claimant's lease (set by the claim, not read).
    #[sqlx(skip)]
    pub held_until: i64,
}

/// A claimed event with the time it was recorded, to put a claim in order.
#[derive(FromRow)]
struct ClaimedRow {
    created_at: i64,
    #[sqlx(flatten)]
    event: ClaimedEvent,
}

/// Records an event unless its external id was seen before, due at once for
/// the worker; true when new.
pub async fn record(db: &Db, business_id: &str, channel: &str, external_id: &str, payload: &str) -> StoreResult<bool> {
    let due = ids::now_ms();
    Ok(record_claimed(db, business_id, channel, external_id, payload, due).await?.is_some())
}

/// Records an event already claimed by the caller, who processes it at once:
/// leased until `lease_until`, after which any worker may take it (the caller
/// died; a lease ending now leaves it to the worker). `None` when its external
/// id was seen before.
pub async fn record_claimed(
    db: &Db,
    business_id: &str,
    channel: &str,
    external_id: &str,
    payload: &str,
    lease_until: i64,
) -> StoreResult<Option<ClaimedEvent>> {
    let id = ids::new_id("ine");
    let inserted = sqlx::query(
        "INSERT INTO inbound_events (id, business_id, channel, external_id, payload, state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $8, 0, $6, $7) ON CONFLICT (business_id, channel, external_id) DO NOTHING",
    )
    .bind(&id)
    .bind(business_id)
    .bind(channel)
    .bind(external_id)
    .bind(payload)
    .bind(lease_until)
    .bind(ids::now_ms())
    .bind(EventState::Pending.as_str())
    .execute(db.pool())
    .await?;
    Ok((inserted.rows_affected() == 1).then(|| ClaimedEvent {
        id,
        business_id: business_id.to_string(),
        channel: channel.to_string(),
        payload: payload.to_string(),
        attempts: 0,
        held_until: lease_until,
    }))
}

/// Claims up to `limit` due events, oldest first, leasing them until `lease_until`.
pub async fn claim_due(db: &Db, now: i64, lease_until: i64, limit: u32) -> StoreResult<Vec<ClaimedEvent>> {
    let mut claimed: Vec<ClaimedRow> = sqlx::query_as(&queue::claim_sql(
        db,
        "inbound_events",
        "created_at, id",
        "id, business_id, channel, payload, attempts, created_at",
    ))
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    // RETURNING does not keep the subquery's order.
    claimed.sort_by(|a, b| (a.created_at, &a.event.id).cmp(&(b.created_at, &b.event.id)));
    Ok(claimed.into_iter().map(|row| ClaimedEvent { held_until: lease_until, ..row.event }).collect())
}

/// Extends the lease of an event this claimant still holds (nobody took it
/// over after its lease ran out); false when it no longer holds it.
pub async fn renew_lease(db: &Db, event: &mut ClaimedEvent, until: i64) -> StoreResult<bool> {
    let renewed = sqlx::query(
        "UPDATE inbound_events SET next_attempt_at = $3 WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2",
    )
    .bind(&event.id)
    .bind(event.held_until)
    .bind(until)
    .execute(db.pool())
    .await?;
    if renewed.rows_affected() == 1 {
        event.held_until = until;
        return Ok(true);
    }
    Ok(false)
}

pub async fn mark_done(db: &Db, id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE inbound_events SET state = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
        .bind(id)
        .bind(EventState::Done.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
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
