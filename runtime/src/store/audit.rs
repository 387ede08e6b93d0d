//! The audit trail: who exported or erased a customer, changed a secret,
//! activated a plugin or rotated keys, when, and with what outcome (never the
//! secret or a customer's text). Append-only and hash-chained per business:
//! each row's hash is sha256 of the previous hash and the row in canonical
//! form, and each business's head (last seq and hash) is kept beside, so
//! [`verify`] finds a row altered, removed or added behind the trail's back.
//! Appends of one business take turns on the head's row, locked for the
//! append's transaction.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::{Db, StoreError, StoreResult, is_unique_violation};
use crate::ids;

/// The hash before a business's first row.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The operator's own trail (key operations).
pub const OPERATOR_TRAIL: &str = "";

/// One row of the trail.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct AuditEvent {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    /// 1, 2, 3… per business.
    pub seq: i64,
    /// `business`, `operator` or `host`.
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub outcome: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// What to record.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Whose trail ([`OPERATOR_TRAIL`] for the operator's).
    pub business_id: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub outcome: &'a str,
}

/// The hash of a row after `prev_hash`: sha256(prev ‖ canonical row), the row
/// as a JSON array of its fields in a fixed order.
fn hash_of(prev_hash: &str, id: &str, business_id: &str, seq: i64, entry: &Entry<'_>, created_at: i64) -> String {
    let canonical =
        serde_json::json!([id, business_id, seq, entry.actor, entry.action, entry.subject, entry.outcome, created_at])
            .to_string();
    hex::encode(Sha256::new().chain_update(prev_hash.as_bytes()).chain_update(canonical.as_bytes()).finalize())
}

#[derive(Debug, FromRow)]
struct Head {
    seq: i64,
    hash: String,
}

/// Appends `entry` to its business's trail.
pub async fn append(db: &Db, entry: Entry<'_>) -> StoreResult<()> {
    // Only a trail's very first row can race (two nodes inserting its head).
    for _ in 0..5 {
        let mut tx = db.pool().begin().await?;
        // The head, locked for the transaction (a no-op update: PostgreSQL's
        // row lock, SQLite's write lock), so appends of one trail take turns.
        let head: Option<Head> =
            sqlx::query_as("UPDATE audit_heads SET seq = seq WHERE business_id = $1 RETURNING seq, hash")
                .bind(entry.business_id)
                .fetch_optional(&mut *tx)
                .await?;
        let first = head.is_none();
        let (seq, prev) = head.map_or((1, GENESIS.to_string()), |h| (h.seq + 1, h.hash));
        let id = ids::new_id("aud");
        let now = ids::now_ms();
        let hash = hash_of(&prev, &id, entry.business_id, seq, &entry, now);
        let moved = if first {
            sqlx::query("INSERT INTO audit_heads (business_id, seq, hash) VALUES ($1, $2, $3)")
                .bind(entry.business_id)
                .bind(seq)
                .bind(&hash)
                .execute(&mut *tx)
                .await
        } else {
            sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE business_id = $1")
                .bind(entry.business_id)
                .bind(seq)
                .bind(&hash)
                .execute(&mut *tx)
                .await
        };
        match moved {
            Ok(_) => {}
            Err(e) if first && is_unique_violation(&e) => {
                tx.rollback().await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO audit_events (id, business_id, seq, actor, action, subject, outcome, created_at, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(entry.business_id)
        .bind(seq)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.subject)
        .bind(entry.outcome)
        .bind(now)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    Err(StoreError::Conflict("the audit trail's first row was taken by another node; try again".into()))
}

/// A business's trail, newest first.
pub async fn list(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, business_id, seq, actor, action, subject, outcome, created_at, prev_hash, hash FROM audit_events \
         WHERE business_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(business_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// What [`verify`] found wrong, naming the trail and the row.
pub type Break = String;

/// Checks every business's trail: each row's hash over the one before, no
/// seq missing, and the head matching the last row. Empty when intact.
pub async fn verify(db: &Db) -> StoreResult<(u64, Vec<Break>)> {
    let rows: Vec<AuditEvent> = sqlx::query_as(
        "SELECT id, business_id, seq, actor, action, subject, outcome, created_at, prev_hash, hash FROM audit_events \
         ORDER BY business_id, seq",
    )
    .fetch_all(db.pool())
    .await?;
    let heads: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT business_id, seq, hash FROM audit_heads ORDER BY business_id")
            .fetch_all(db.pool())
            .await?;
    let mut breaks = Vec::new();
    let mut last: Option<(String, i64, String)> = None;
    let mut finished: Vec<(String, i64, String)> = Vec::new();
    for row in &rows {
        let trail =
            if row.business_id.is_empty() { "the operator's trail".to_string() } else { row.business_id.clone() };
        let same_trail = last.as_ref().is_some_and(|(business, _, _)| *business == row.business_id);
        if !same_trail && let Some(done) = last.take() {
            finished.push(done);
        }
        let (expected_seq, prev) = match &last {
            Some((_, seq, hash)) => (seq + 1, hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        if row.seq != expected_seq {
            breaks.push(format!("{trail}: row {} comes where row {expected_seq} should (a row was removed)", row.seq));
        }
        if row.prev_hash != prev {
            breaks.push(format!("{trail}: row {} does not follow the row before it", row.seq));
        }
        let entry = Entry {
            business_id: &row.business_id,
            actor: &row.actor,
            action: &row.action,
            subject: &row.subject,
            outcome: &row.outcome,
        };
        if hash_of(&row.prev_hash, &row.id, &row.business_id, row.seq, &entry, row.created_at) != row.hash {
            breaks.push(format!("{trail}: row {} was altered (its hash does not match it)", row.seq));
        }
        last = Some((row.business_id.clone(), row.seq, row.hash.clone()));
    }
    if let Some(done) = last.take() {
        finished.push(done);
    }
    for (business, seq, hash) in &heads {
        match finished.iter().find(|(b, _, _)| b == business) {
            Some((_, last_seq, last_hash)) if last_seq == seq && last_hash == hash => {}
            _ => breaks.push(format!(
                "trail {business:?}: its last row is not the head it recorded (row {seq}): rows were removed"
            )),
        }
    }
    for (business, _, _) in &finished {
        if !heads.iter().any(|(b, _, _)| b == business) {
            breaks.push(format!("trail {business:?} has rows but no head"));
        }
    }
    Ok((u64::try_from(rows.len()).unwrap_or(u64::MAX), breaks))
}
