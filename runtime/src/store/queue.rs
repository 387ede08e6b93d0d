//! What the durable queues share (webhook deliveries, inbound events,
//! outbound sends): rows due at `next_attempt_at`, claimed under a lease (the
//! claim moves `next_attempt_at` to the lease's end, so a crashed attempt is
//! retried, never lost), with `FOR UPDATE SKIP LOCKED` on PostgreSQL so several
//! nodes share a queue; then marked done, or failed and retried later, or
//! given up.

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
