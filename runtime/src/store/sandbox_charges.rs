//! The sandbox card processor's books (see `commerce::payments::sandbox`): one
//! row per authorization, keyed by the caller's idempotency key, holding what
//! was authorized, captured and refunded. Each change is one conditional
//! UPDATE, so no two nodes can capture or refund past the limit together.
//! Its vault of saved cards (`sandbox_cards`: a token, what is kept of the
//! card, how the test card behaves) serves charges of a card on file.

use sqlx::Row;

use super::{Db, StoreError, StoreResult};
use crate::domain::card::CardOnFile;
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

/// What a capture or refund does to a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Captures, never above what was authorized.
    Capture,
    /// Refunds, never above what was captured.
    Refund,
}

/// Captures or refunds `amount_minor` under `idempotency_key`: the first call
/// with a key moves the money (or is refused), and every later one answers
/// the same without moving anything.
pub async fn operate(
    db: &Db,
    idempotency_key: &str,
    reference: &str,
    operation: Operation,
    amount_minor: i64,
) -> StoreResult<Change> {
    let mut tx = db.pool().begin().await?;
    let kind = match operation {
        Operation::Capture => "capture",
        Operation::Refund => "refund",
    };
    // The money moves only under a key that never moved it; the operation's
    // row (its key unique) then records what this call did. Two calls with
    // one key at once: the second's row conflicts and its move is rolled back.
    let moved = match operation {
        Operation::Capture => sqlx::query(
            "UPDATE sandbox_charges SET captured_minor = captured_minor + $2 \
             WHERE reference = $1 AND outcome = 'approved' AND $2 > 0 AND captured_minor + $2 <= amount_minor \
             AND NOT EXISTS (SELECT 1 FROM sandbox_operations WHERE idempotency_key = $3)",
        ),
        Operation::Refund => sqlx::query(
            "UPDATE sandbox_charges SET refunded_minor = refunded_minor + $2 \
             WHERE reference = $1 AND $2 > 0 AND refunded_minor + $2 <= captured_minor \
             AND NOT EXISTS (SELECT 1 FROM sandbox_operations WHERE idempotency_key = $3)",
        ),
    }
    .bind(reference)
    .bind(amount_minor)
    .bind(idempotency_key)
    .execute(&mut *tx)
    .await?;
    let change = if moved.rows_affected() == 1 { Change::Done } else { Change::Refused };
    // Only a move that did not happen asks whether the charge exists at all
    // (an operation names a known charge).
    if change == Change::Refused && exists_on(&mut tx, reference).await? == Change::Unknown {
        tx.rollback().await?;
        return Ok(Change::Unknown);
    }
    let recorded = sqlx::query(
        "INSERT INTO sandbox_operations (idempotency_key, reference, kind, amount_minor, outcome, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(idempotency_key)
    .bind(reference)
    .bind(kind)
    .bind(amount_minor)
    .bind(if change == Change::Done { "done" } else { "refused" })
    .bind(ids::now_ms())
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        // A retry: answer what the first call did (and move nothing now).
        tx.rollback().await?;
        let row = sqlx::query("SELECT outcome FROM sandbox_operations WHERE idempotency_key = $1")
            .bind(idempotency_key)
            .fetch_one(db.pool())
            .await?;
        let outcome: String = row.try_get("outcome")?;
        return Ok(if outcome == "done" { Change::Done } else { Change::Refused });
    }
    tx.commit().await?;
    Ok(change)
}

/// The ledger's row for an authorization made under `idempotency_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Books {
    pub charge: Charge,
    pub amount_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

pub async fn by_idempotency_key(db: &Db, idempotency_key: &str) -> StoreResult<Option<Books>> {
    let row = sqlx::query(
        "SELECT reference, outcome, decline_code, card, amount_minor, captured_minor, refunded_minor \
         FROM sandbox_charges WHERE idempotency_key = $1",
    )
    .bind(idempotency_key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Books {
        charge: from_row(&row)?,
        amount_minor: row.try_get("amount_minor")?,
        captured_minor: row.try_get("captured_minor")?,
        refunded_minor: row.try_get("refunded_minor")?,
    }))
}

/// After a refused change: whether the reference was known at all.
async fn exists(db: &Db, reference: &str) -> StoreResult<Change> {
    let mut conn = db.pool().acquire().await?;
    exists_on(&mut conn, reference).await
}

async fn exists_on(conn: &mut sqlx::AnyConnection, reference: &str) -> StoreResult<Change> {
    let row = sqlx::query("SELECT 1 AS found FROM sandbox_charges WHERE reference = $1")
        .bind(reference)
        .fetch_optional(conn)
        .await?;
    Ok(if row.is_some() { Change::Refused } else { Change::Unknown })
}

/// Keeps a saved card in the sandbox's vault: what it is kept as, and how the
/// test card behaves when charged (`approved`, a decline code, or
/// `processing_error`). No number is kept.
pub async fn save_card(db: &Db, card: &CardOnFile, behaviour: &str) -> StoreResult<()> {
    let json = serde_json::to_string(card).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("INSERT INTO sandbox_cards (token, card, behaviour, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&card.token)
        .bind(json)
        .bind(behaviour)
        .bind(ids::now_ms())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The saved card `token` and how it behaves, or `None` for a token the
/// sandbox never handed out.
pub async fn saved_card(db: &Db, token: &str) -> StoreResult<Option<(CardOnFile, String)>> {
    let row = sqlx::query("SELECT card, behaviour FROM sandbox_cards WHERE token = $1")
        .bind(token)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let card: String = row.try_get("card")?;
    let card = serde_json::from_str(&card).map_err(|e| StoreError::Corrupt(format!("sandbox saved card: {e}")))?;
    Ok(Some((card, row.try_get("behaviour")?)))
}
