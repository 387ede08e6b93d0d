//! Product photos a business uploaded, kept in the database so every node can
//! serve them (and counted for the stored-photo fee: photos are never deleted,
//! so the count at a period's end never changes).

use sqlx::AnyConnection;

use super::{Db, StoreResult};
use crate::ids;

pub async fn insert(db: &Db, business_id: &str, content_type: &str, bytes: &[u8]) -> StoreResult<String> {
    let id = ids::new_id("img");
    sqlx::query("INSERT INTO images (id, business_id, content_type, bytes, size_bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(business_id)
        .bind(content_type)
        .bind(bytes.to_vec())
        .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
        .bind(ids::now_ms())
        .execute(db.pool())
        .await?;
    Ok(id)
}

/// (content type, bytes) of an image.
pub async fn get(db: &Db, id: &str) -> StoreResult<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query_as("SELECT content_type, bytes FROM images WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// How many photos the business stored before `before` (ms).
pub async fn count_before(conn: &mut AnyConnection, business_id: &str, before: i64) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM images WHERE business_id = $1 AND created_at < $2")
        .bind(business_id)
        .bind(before)
        .fetch_one(&mut *conn)
        .await?)
}
