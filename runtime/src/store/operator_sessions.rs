//! The operator console's sessions: opened with the admin token (checked by
//! the caller), kept only as the hash of their random token (`ids::hash_secret`),
//! live until they expire or are signed out. The admin token itself is never
//! stored nor put in a cookie.

use super::{Db, StoreResult};
use crate::ids;

/// Opens a session that lives until `expires_at` (ms); returns its secret
/// token (only its hash is kept).
pub async fn open(db: &Db, expires_at: i64) -> StoreResult<String> {
    let token = ids::new_secret("ops");
    sqlx::query("INSERT INTO operator_sessions (id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(ids::new_id("opss"))
        .bind(ids::hash_secret(&token))
        .bind(expires_at)
        .bind(ids::now_ms())
        .execute(db.pool())
        .await?;
    Ok(token)
}

/// Whether `token` opens a live session (one not expired at `now`).
pub async fn is_live(db: &Db, token: &str, now: i64) -> StoreResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM operator_sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(ids::hash_secret(token))
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(found.is_some())
}

/// Ends the session `token` opens, and forgets every expired one.
pub async fn close(db: &Db, token: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM operator_sessions WHERE token_hash = $1 OR expires_at <= $2")
        .bind(ids::hash_secret(token))
        .bind(ids::now_ms())
        .execute(db.pool())
        .await?;
    Ok(())
}
