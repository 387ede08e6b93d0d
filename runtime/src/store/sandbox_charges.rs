//! The sandbox card processor's books (see `commerce::payments::sandbox`): one
//! row per authorization, keyed by the caller's idempotency key, holding what
//! was authorized, captured and refunded. Each change is one conditional
//! UPDATE, so no two nodes can capture or refund past the limit together.

use sqlx::Row;

use super::{Db, StoreError, StoreResult};
use crate::commerce::payments::CardOnFile;
use crate::ids;

/// An authorization as the sandbox answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub reference: String,
    /// `approved`, `challenge` or `declined`.
    pub outcome: String,
    pub decline_code: Option<String>,
    pub card: Option<CardOnFile>,
}

/// What a capture, refund or challenge completion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    /// The charge exists but does not allow it (over the limit, wrong state).
    Refused,
    Unknown,
}

fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Charge> {
    let card: Option<String> = row.try_get("card")?;
    Ok(Charge {
        reference: row.try_get("reference")?,
        outcome: row.try_get("outcome")?,
        decline_code: row.try_get("decline_code")?,
        card: card
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("sandbox charge card: {e}")))?,
    })
}

/// Records `charge` under `idempotency_key`, or returns what the key already
/// recorded (a retry answers the same, and charges nothing more).
pub async fn record(db: &Db, idempotency_key: &str, charge: &Charge, amount_minor: i64) -> StoreResult<Charge> {
    let card =
        charge.card.as_ref().map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let inserted = sqlx::query(
        "INSERT INTO sandbox_charges (reference, idempotency_key, outcome, decline_code, amount_minor, card, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&charge.reference)
    .bind(idempotency_key)
    .bind(&charge.outcome)
    .bind(&charge.decline_code)
    .bind(amount_minor)
    .bind(card)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(charge.clone());
    }
    let row =
        sqlx::query("SELECT reference, outcome, decline_code, card FROM sandbox_charges WHERE idempotency_key = $1")
            .bind(idempotency_key)
            .fetch_one(db.pool())
            .await?;
    from_row(&row)
}

/// Ends the 3-D Secure challenge of `reference`: approved when `passed`,
/// otherwise declined with `decline_code`. The charge as it now stands.
pub async fn complete_challenge(
    db: &Db,
    reference: &str,
    passed: bool,
    decline_code: &str,
) -> StoreResult<(Change, Option<Charge>)> {
    let row = sqlx::query(
        "UPDATE sandbox_charges SET outcome = CASE WHEN $2 = 1 THEN 'approved' ELSE 'declined' END, \
         decline_code = CASE WHEN $2 = 1 THEN NULL ELSE $3 END \
         WHERE reference = $1 AND outcome = 'challenge' RETURNING reference, outcome, decline_code, card",
    )
    .bind(reference)
    .bind(i64::from(passed))
    .bind(decline_code)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(row) => Ok((Change::Done, Some(from_row(&row)?))),
        None => Ok((exists(db, reference).await?, None)),
    }
}

/// Captures `amount_minor` of an approved charge, never above what was authorized.
pub async fn capture(db: &Db, reference: &str, amount_minor: i64) -> StoreResult<Change> {
    let done = sqlx::query(
        "UPDATE sandbox_charges SET captured_minor = captured_minor + $2 \
         WHERE reference = $1 AND outcome = 'approved' AND $2 > 0 AND captured_minor + $2 <= amount_minor",
    )
    .bind(reference)
    .bind(amount_minor)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 1 { Ok(Change::Done) } else { exists(db, reference).await }
}

/// Refunds `amount_minor`, never above what was captured.
pub async fn refund(db: &Db, reference: &str, amount_minor: i64) -> StoreResult<Change> {
    let done = sqlx::query(
        "UPDATE sandbox_charges SET refunded_minor = refunded_minor + $2 \
         WHERE reference = $1 AND $2 > 0 AND refunded_minor + $2 <= captured_minor",
    )
    .bind(reference)
    .bind(amount_minor)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 1 { Ok(Change::Done) } else { exists(db, reference).await }
}

/// After a refused change: whether the reference was known at all.
async fn exists(db: &Db, reference: &str) -> StoreResult<Change> {
    let row = sqlx::query("SELECT 1 AS found FROM sandbox_charges WHERE reference = $1")
        .bind(reference)
        .fetch_optional(db.pool())
        .await?;
    Ok(if row.is_some() { Change::Refused } else { Change::Unknown })
}
