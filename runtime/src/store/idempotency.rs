//! Idempotency keys for money-moving requests: claimed atomically with a
//! fingerprint of the request, so a retry replays the first response, a
//! different request under the same key is refused, and a duplicate still in
//! flight is told so. Keys are kept at least 24 hours.

use sqlx::Row;

use super::{Db, StoreResult};
use crate::ids;

/// How long a key is remembered.
pub const KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: do the work, then `complete` (or `release` to allow a retry).
    Claimed,
    /// The same request already finished: replay its response.
    Replay { status_code: u16, response: String },
    /// The same request is being processed right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

pub async fn claim(db: &Db, scope: &str, key: &str, fingerprint: &str) -> StoreResult<Claim> {
    // Keys past the retention window are purged by the runtime's sweeper
    // (`purge_expired`), after which the key may be used again.
    let now = ids::now_ms();
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) VALUES ($1, $2, $3, 'in_flight', $4) \
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Claimed);
    }
    let row = sqlx::query(
        "SELECT fingerprint, state, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(Claim::InFlight) };
    if row.try_get::<String, _>("fingerprint")? != fingerprint {
        return Ok(Claim::Mismatch);
    }
    if row.try_get::<String, _>("state")? != "done" {
        return Ok(Claim::InFlight);
    }
    Ok(Claim::Replay {
        status_code: u16::try_from(row.try_get::<Option<i64>, _>("status_code")?.unwrap_or(200)).unwrap_or(200),
        response: row.try_get::<Option<String>, _>("response")?.unwrap_or_default(),
    })
}

/// Forgets keys older than the retention window; returns how many.
pub async fn purge_expired(db: &Db, now: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now - KEEP_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Records the response of a claimed key.
pub async fn complete(db: &Db, scope: &str, key: &str, status_code: u16, response: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status_code = $3, response = $4 WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .bind(i64::from(status_code))
    .bind(response)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Gives a claimed key up (the work failed in a way that a retry may fix).
pub async fn release(db: &Db, scope: &str, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_flight'")
        .bind(scope)
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}
