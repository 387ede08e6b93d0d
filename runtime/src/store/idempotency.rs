//! Idempotency keys for money-moving requests: claimed atomically with a
//! fingerprint of the request, so a retry replays the first response, a
//! different request under the same key is refused, and a duplicate still in
//! flight is told so. A claim is owned under a lease: when its owner died (a
//! crash between claiming and completing), the next retry takes the key over
//! and resumes the work, which finds what the first attempt recorded. Keys are
//! kept at least 24 hours.
//!
//! [`once`] is the one way a request handler uses a key.

use std::future::Future;
use std::time::Duration;

use sqlx::Row;

use super::{Db, StoreResult};
use crate::ids;

/// How long a key is remembered.
pub const KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// A response as it is stored and replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status_code: u16,
    pub body: String,
}

/// What the work under a key came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Final: stored and replayed to every retry.
    Final(Answer),
    /// A failure a retry may fix (the provider did not answer): the key is
    /// given up, so the same request may be sent again.
    Retryable(Answer),
}

/// Why the work was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The same request is being processed right now (its owner's lease holds).
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    /// The key is ours; `resumed` when a previous owner died holding it.
    Claimed {
        resumed: bool,
    },
    Replay(Answer),
    Refused(Refusal),
}

/// Runs `work` once for (`scope`, `key`): the first request runs it (told
/// whether it resumes a dead owner's attempt), retries get its stored answer,
/// and a different request under the key is refused. The claim is owned for
/// `lease`; work that outlives it may be resumed by a retry, so it must find
/// and continue what it recorded (payments and refunds are found by key).
pub async fn once<W, F>(
    db: &Db,
    scope: &str,
    key: &str,
    fingerprint: &str,
    lease: Duration,
    work: W,
) -> StoreResult<Result<Answer, Refusal>>
where
    W: FnOnce(bool) -> F,
    F: Future<Output = StoreResult<Outcome>>,
{
    let resumed = match claim(db, scope, key, fingerprint, lease).await? {
        Claim::Claimed { resumed } => resumed,
        Claim::Replay(answer) => return Ok(Ok(answer)),
        Claim::Refused(refusal) => return Ok(Err(refusal)),
    };
    match work(resumed).await {
        Ok(Outcome::Final(answer)) => {
            complete(db, scope, key, &answer).await?;
            Ok(Ok(answer))
        }
        Ok(Outcome::Retryable(answer)) => {
            release(db, scope, key).await?;
            Ok(Ok(answer))
        }
        Err(error) => {
            // A server-side failure: the client may retry with the same key.
            if let Err(e) = release(db, scope, key).await {
                tracing::warn!("could not give up an idempotency key after a failure: {e}");
            }
            Err(error)
        }
    }
}

async fn claim(db: &Db, scope: &str, key: &str, fingerprint: &str, lease: Duration) -> StoreResult<Claim> {
    // Keys past the retention window are purged by the runtime's sweeper
    // (`purge_expired`), after which the key may be used again.
    let now = ids::now_ms();
    let lease_until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at, lease_until) \
         VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .bind(lease_until)
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Claimed { resumed: false });
    }
    // The owner died: take the claim over (one retry wins).
    let taken = sqlx::query(
        "UPDATE idempotency_keys SET lease_until = $4 WHERE scope = $1 AND key = $2 AND fingerprint = $3 \
         AND state = 'in_flight' AND (lease_until IS NULL OR lease_until < $5)",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .bind(lease_until)
    .bind(now)
    .execute(db.pool())
    .await?;
    if taken.rows_affected() == 1 {
        return Ok(Claim::Claimed { resumed: true });
    }
    let row = sqlx::query(
        "SELECT fingerprint, state, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(Claim::Refused(Refusal::InFlight)) };
    if row.try_get::<String, _>("fingerprint")? != fingerprint {
        return Ok(Claim::Refused(Refusal::Mismatch));
    }
    if row.try_get::<String, _>("state")? != "done" {
        return Ok(Claim::Refused(Refusal::InFlight));
    }
    Ok(Claim::Replay(Answer {
        status_code: u16::try_from(row.try_get::<Option<i64>, _>("status_code")?.unwrap_or(200)).unwrap_or(200),
        body: row.try_get::<Option<String>, _>("response")?.unwrap_or_default(),
    }))
}

/// Forgets keys older than the retention window; returns how many.
pub async fn purge_expired(db: &Db, now: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now - KEEP_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

async fn complete(db: &Db, scope: &str, key: &str, answer: &Answer) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status_code = $3, response = $4 WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .bind(i64::from(answer.status_code))
    .bind(&answer.body)
    .execute(db.pool())
    .await?;
    Ok(())
}

async fn release(db: &Db, scope: &str, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_flight'")
        .bind(scope)
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}
