//! The per-business key-value store behind the plugin `kv` capability, with
//! the business's running byte total kept on its row so quotas are enforced by
//! one conditional update rather than a scan.

use sqlx::Row;

use super::{Db, StoreResult};

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvRefusal {
    QuotaExceeded,
}

pub async fn get(db: &Db, business_id: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT value FROM kv_entries WHERE business_id = $1 AND key = $2")
        .bind(business_id)
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| Ok(row.try_get("value")?)).transpose()
}

/// Stores `value` under `key` if the business's total stays within `quota` bytes
/// (key plus value bytes of every entry).
pub async fn set(
    db: &Db,
    business_id: &str,
    key: &str,
    value: &[u8],
    quota: u64,
) -> StoreResult<Result<(), KvRefusal>> {
    let size = i64::try_from(key.len() + value.len()).unwrap_or(i64::MAX);
    let quota = i64::try_from(quota).unwrap_or(i64::MAX);
    let mut tx = db.pool().begin().await?;
    // Charging the business row first also locks it (PostgreSQL), so two writes
    // of one business cannot both slip under the quota.
    let charged = sqlx::query(
        "UPDATE businesses SET kv_bytes = kv_bytes + $2 - COALESCE((SELECT size FROM kv_entries WHERE business_id = $1 AND key = $3), 0) \
         WHERE id = $1 AND kv_bytes + $2 - COALESCE((SELECT size FROM kv_entries WHERE business_id = $1 AND key = $3), 0) <= $4",
    )
    .bind(business_id)
    .bind(size)
    .bind(key)
    .bind(quota)
    .execute(&mut *tx)
    .await?;
    if charged.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(Err(KvRefusal::QuotaExceeded));
    }
    sqlx::query(
        "INSERT INTO kv_entries (business_id, key, value, size) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (business_id, key) DO UPDATE SET value = excluded.value, size = excluded.size",
    )
    .bind(business_id)
    .bind(key)
    .bind(value.to_vec())
    .bind(size)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn delete(db: &Db, business_id: &str, key: &str) -> StoreResult<()> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "UPDATE businesses SET kv_bytes = kv_bytes - COALESCE((SELECT size FROM kv_entries WHERE business_id = $1 AND key = $2), 0) WHERE id = $1",
    )
    .bind(business_id)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM kv_entries WHERE business_id = $1 AND key = $2")
        .bind(business_id)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Keys starting with `prefix`, sorted.
pub async fn keys(db: &Db, business_id: &str, prefix: &str, limit: u32) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT key FROM kv_entries WHERE business_id = $1 AND substr(key, 1, CAST($3 AS INTEGER)) = $2 ORDER BY key LIMIT $4",
    )
    .bind(business_id)
    .bind(prefix)
    .bind(i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| Ok(row.try_get("key")?)).collect()
}
