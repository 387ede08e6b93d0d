//! Product photos a business uploaded, kept in the database so every node can
//! serve them.

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
