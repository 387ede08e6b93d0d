//! The per-business key-value store behind the plugin `kv` capability, with
//! the business's running byte total kept on its row so quotas are enforced
//! without a scan. Writes lock the business row first, so concurrent writes of
//! one business are counted one after the other.

use super::{Db, StoreResult};

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvRefusal {
    QuotaExceeded,
}

pub async fn get(db: &Db, business_id: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT value FROM kv_entries WHERE business_id = $1 AND key = $2")
        .bind(business_id)
        .bind(key)
        .fetch_optional(db.pool())
        .await?)
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
    // Lock the business row first (PostgreSQL row lock; SQLite write lock), so
    // the entry size read next is current and two writes cannot both count it.
    let used = lock_usage(&mut tx, business_id).await?;
    let old: i64 = sqlx::query_scalar("SELECT size FROM kv_entries WHERE business_id = $1 AND key = $2")
        .bind(business_id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
    let after = used - old + size;
    if after > quota {
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
    sqlx::query("UPDATE businesses SET kv_bytes = $2 WHERE id = $1")
        .bind(business_id)
        .bind(after)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn delete(db: &Db, business_id: &str, key: &str) -> StoreResult<()> {
    let mut tx = db.pool().begin().await?;
    lock_usage(&mut tx, business_id).await?;
    let freed: Option<i64> =
        sqlx::query_scalar("DELETE FROM kv_entries WHERE business_id = $1 AND key = $2 RETURNING size")
            .bind(business_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(freed) = freed {
        sqlx::query("UPDATE businesses SET kv_bytes = kv_bytes - $2 WHERE id = $1")
            .bind(business_id)
            .bind(freed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Locks the business's row for the transaction (a no-op update: portable
/// across SQLite and PostgreSQL, unlike `SELECT ... FOR UPDATE`) and returns
/// the bytes it uses.
async fn lock_usage(tx: &mut sqlx::Transaction<'_, sqlx::Any>, business_id: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("UPDATE businesses SET kv_bytes = kv_bytes WHERE id = $1 RETURNING kv_bytes")
        .bind(business_id)
        .fetch_one(&mut **tx)
        .await?)
}

/// Keys starting with `prefix`, sorted.
pub async fn keys(db: &Db, business_id: &str, prefix: &str, limit: u32) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT key FROM kv_entries WHERE business_id = $1 AND substr(key, 1, CAST($3 AS INTEGER)) = $2 ORDER BY key LIMIT $4",
    )
    .bind(business_id)
    .bind(prefix)
    .bind(i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}
