//! What the durable queues share (webhook deliveries, inbound events,
//! outbound sends): rows due at `next_attempt_at`, claimed under a lease (the
//! claim moves `next_attempt_at` to the lease's end, so a crashed attempt is
//! retried, never lost), with `FOR UPDATE SKIP LOCKED` on PostgreSQL so several
//! nodes share a queue; then marked done, or failed and retried later, or
//! given up.
//!
//! Claims do not name their node; each node keeps the rows it holds in a
//! [`Held`] ledger, so that a node stopping gives them back (`release`):
//! another node then takes them at once, not when their lease ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Backend, Db, StoreResult};
use crate::ids;

/// Delay before the next attempt after `failed` failed ones: `first`,
/// doubling each time, never above `cap`.
pub fn backoff(first: Duration, cap: Duration, failed: i64) -> Duration {
    let exponent = u32::try_from(failed.clamp(0, 30)).unwrap_or(30);
    first.saturating_mul(2u32.saturating_pow(exponent)).min(cap)
}

/// When (ms) the next attempt is due, `delay` after `now_ms`.
pub fn due_after(now_ms: i64, delay: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

/// The rows of one queue this node holds under a lease and has not settled:
/// row id → the lease's end, which is also the row's `next_attempt_at` while
/// the lease is this node's. Cheap to clone; clones share the ledger.
#[derive(Debug, Clone, Default)]
pub struct Held(Arc<Mutex<HashMap<String, i64>>>);

impl Held {
    /// Records that this node holds row `id` until `until` (ms).
    pub fn hold(&self, id: &str, until: i64) {
        self.rows().insert(id.to_string(), until);
    }

    /// Forgets row `id`: it was settled, or is no longer this node's.
    pub fn let_go(&self, id: &str) {
        self.rows().remove(id);
    }

    /// How many rows this node holds.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows().is_empty()
    }

    fn take_all(&self) -> Vec<(String, i64)> {
        self.rows().drain().collect()
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Gives back every row of `table` in `held`: due again at `now`, for any
/// node to claim. A row is given back only if this node still holds it (it is
/// pending and its `next_attempt_at` is still this node's lease end), so a row
/// another node took over, or that was settled meanwhile, is left alone.
/// Returns how many rows were given back.
pub(super) async fn release(db: &Db, table: &str, held: &Held, now: i64) -> StoreResult<usize> {
    let sql =
        format!("UPDATE {table} SET next_attempt_at = $3 WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2");
    let mut released = 0;
    for (id, until) in held.take_all() {
        let done = sqlx::query(&sql).bind(&id).bind(until).bind(now).execute(db.pool()).await?;
        released += usize::try_from(done.rows_affected()).unwrap_or(0);
    }
    Ok(released)
}

/// The locking clause of a claim's subquery: rows another node is claiming
/// are skipped. `of` names the table alias to lock when the subquery joins.
pub(super) fn skip_locked(db: &Db, of: Option<&str>) -> String {
    match (db.backend(), of) {
        (Backend::Postgres, Some(alias)) => format!(" FOR UPDATE OF {alias} SKIP LOCKED"),
        (Backend::Postgres, None) => " FOR UPDATE SKIP LOCKED".to_string(),
        (Backend::Sqlite, _) => String::new(),
    }
}

/// The claim of up to `$3` pending rows of `table` due at `$1`, in `order`,
/// leased until `$2`, returning `columns`.
pub(super) fn claim_sql(db: &Db, table: &str, order: &str, columns: &str) -> String {
    format!(
        "UPDATE {table} SET next_attempt_at = $2 WHERE id IN \
         (SELECT id FROM {table} WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY {order} LIMIT $3{}) \
         RETURNING {columns}",
        skip_locked(db, None)
    )
}

/// Records a failed attempt of row `id` of `table`: pending again at
/// `next_attempt_at`, or in state `gave_up` when `None`. `attempted` is false
/// for a row refused without trying.
pub(super) async fn record_failure(
    db: &Db,
    table: &str,
    id: &str,
    error: &str,
    next_attempt_at: Option<i64>,
    gave_up: &str,
    attempted: bool,
) -> StoreResult<()> {
    let (state, next) = match next_attempt_at {
        Some(next) => ("pending", next),
        None => (gave_up, ids::now_ms()),
    };
    sqlx::query(&format!(
        "UPDATE {table} SET state = $2, attempts = attempts + $5, next_attempt_at = $3, last_error = $4 WHERE id = $1"
    ))
    .bind(id)
    .bind(state)
    .bind(next)
    .bind(error)
    .bind(i64::from(attempted))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How many rows of each durable queue wait (`pending`) on the whole
/// cluster: what the operator console shows of the node's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Depths {
    pub inbound_events: i64,
    pub outbox: i64,
    pub webhook_deliveries: i64,
}

/// The pending rows of the inbound events, outbound sends and webhook
/// deliveries, in one statement.
pub async fn depths(db: &Db) -> StoreResult<Depths> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM inbound_events WHERE state = 'pending') AS inbound_events, \
         (SELECT COUNT(*) FROM outbox WHERE state = 'pending') AS outbox, \
         (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending') AS webhook_deliveries",
    )
    .fetch_one(db.pool())
    .await?)
}
