//! Web chat sessions: which browser (by the hash of its secret token) talks to
//! which shop in which conversation, and the customer's lock on it. The rules
//! (password strength, idle time, attempts) are `transport::web::session`'s;
//! this module only keeps the state, each change as one conditional UPDATE so
//! two connections of one session (two tabs, two nodes) cannot race past them.

use sqlx::{FromRow, Row};

use super::{Db, StoreResult, Stored};

/// A session as stored.
#[derive(Debug, Clone, FromRow)]
pub struct WebSession {
    pub id: String,
    pub business_id: String,
    pub conversation_id: String,
    pub password_hash: Option<String>,
    pub auto_lock_minutes: Option<i64>,
    #[sqlx(try_from = "Stored<i64>")]
    pub locked: bool,
    pub failed_unlocks: i64,
    pub unlock_blocked_until: Option<i64>,
    pub last_active_at: i64,
}

const COLUMNS: &str = "id, business_id, conversation_id, password_hash, auto_lock_minutes, locked, \
    failed_unlocks, unlock_blocked_until, last_active_at";

/// Records a new session for a conversation already opened.
pub async fn create(
    db: &Db,
    id: &str,
    business_id: &str,
    conversation_id: &str,
    token_hash: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO web_sessions (id, business_id, conversation_id, token_hash, locked, failed_unlocks, last_active_at, created_at) \
         VALUES ($1, $2, $3, $4, 0, 0, $5, $5)",
    )
    .bind(id)
    .bind(business_id)
    .bind(conversation_id)
    .bind(token_hash)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The live (not signed out) session of `business_id` whose token hashes to `token_hash`.
pub async fn find(db: &Db, business_id: &str, token_hash: &str) -> StoreResult<Option<WebSession>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM web_sessions WHERE token_hash = $1 AND business_id = $2 AND signed_out_at IS NULL"
    ))
    .bind(token_hash)
    .bind(business_id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<WebSession>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM web_sessions WHERE id = $1 AND signed_out_at IS NULL"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Notes the customer's activity, unless the session is locked; true when noted.
pub async fn touch(db: &Db, id: &str, now: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE web_sessions SET last_active_at = $2 WHERE id = $1 AND locked = 0")
        .bind(id)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Locks the session, if it has a password.
pub async fn lock(db: &Db, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE web_sessions SET locked = 1 WHERE id = $1 AND password_hash IS NOT NULL")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Locks the session if it has a password and an idle time, and has been idle
/// that long at `now`; true when this call locked it.
pub async fn lock_if_idle(db: &Db, id: &str, now: i64) -> StoreResult<bool> {
    let row = sqlx::query(
        "UPDATE web_sessions SET locked = 1 WHERE id = $1 AND locked = 0 AND password_hash IS NOT NULL \
         AND auto_lock_minutes IS NOT NULL AND last_active_at + auto_lock_minutes * 60000 <= $2 RETURNING locked",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some())
}

/// Sets (or, with `None`, removes) the password and idle time of an unlocked
/// session; false when it is locked (or gone).
pub async fn set_lock(
    db: &Db,
    id: &str,
    password_hash: Option<&str>,
    auto_lock_minutes: Option<i64>,
    now: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE web_sessions SET password_hash = $2, auto_lock_minutes = $3, last_active_at = $4, failed_unlocks = 0 \
         WHERE id = $1 AND locked = 0 AND signed_out_at IS NULL",
    )
    .bind(id)
    .bind(password_hash)
    .bind(auto_lock_minutes.filter(|_| password_hash.is_some()))
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes one unlock attempt, unless unlocking is refused until later: the
/// attempt's number (1 for the first wrong-or-right guess since the last
/// unlock), or `Err(until)`. Taken before the password is checked, so parallel
/// guesses each count.
pub async fn take_unlock_attempt(db: &Db, id: &str, now: i64) -> StoreResult<Result<i64, i64>> {
    let taken: Option<i64> = sqlx::query_scalar(
        "UPDATE web_sessions SET failed_unlocks = failed_unlocks + 1 WHERE id = $1 AND signed_out_at IS NULL \
         AND (unlock_blocked_until IS NULL OR unlock_blocked_until <= $2) RETURNING failed_unlocks",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    if let Some(attempt) = taken {
        return Ok(Ok(attempt));
    }
    let until: Option<i64> =
        sqlx::query_scalar::<_, Option<i64>>("SELECT unlock_blocked_until FROM web_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .flatten();
    Ok(Err(until.unwrap_or(now)))
}

/// Refuses unlocking until `until` (after too many wrong passwords).
pub async fn block_unlocking(db: &Db, id: &str, until: i64) -> StoreResult<()> {
    sqlx::query("UPDATE web_sessions SET unlock_blocked_until = $2 WHERE id = $1")
        .bind(id)
        .bind(until)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Unlocks after a right password.
pub async fn unlock(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE web_sessions SET locked = 0, failed_unlocks = 0, unlock_blocked_until = NULL, last_active_at = $2 \
         WHERE id = $1 AND signed_out_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Signs the session out: its token opens nothing any more. The conversation
/// stays with the business.
pub async fn sign_out(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE web_sessions SET signed_out_at = $2, locked = 1 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// What [`take_unlock_check`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockCheck {
    /// The session's one check is this caller's: the attempt's number (1 for
    /// the first guess since the last unlock).
    Taken(i64),
    /// Unlocking is refused until then (too many wrong passwords).
    Blocked(i64),
    /// Another check of this session is in flight; try again when it is over.
    Busy,
}

/// Takes the session's one unlock check, in one conditional UPDATE, before the
/// password is verified: only when unlocking is not refused until later and
/// no other check is in flight (or the one in flight was abandoned: its lease,
/// `check_until`, ended). So guesses sent in parallel over several sockets or
/// nodes are checked one at a time, each knowing how the previous one ended.
/// End the check with [`finish_unlock_check`] or [`unlock_after_check`].
pub async fn take_unlock_check(db: &Db, id: &str, now: i64, check_until: i64) -> StoreResult<UnlockCheck> {
    let taken = sqlx::query(
        "UPDATE web_sessions SET failed_unlocks = failed_unlocks + 1, unlock_checking_until = $3 \
         WHERE id = $1 AND signed_out_at IS NULL \
         AND (unlock_blocked_until IS NULL OR unlock_blocked_until <= $2) \
         AND (unlock_checking_until IS NULL OR unlock_checking_until <= $2) RETURNING failed_unlocks",
    )
    .bind(id)
    .bind(now)
    .bind(check_until)
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = taken {
        return Ok(UnlockCheck::Taken(row.try_get("failed_unlocks")?));
    }
    let row = sqlx::query("SELECT unlock_blocked_until FROM web_sessions WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    let blocked: Option<i64> = row.map(|row| row.try_get("unlock_blocked_until")).transpose()?.flatten();
    Ok(match blocked {
        Some(until) if until > now => UnlockCheck::Blocked(until),
        _ => UnlockCheck::Busy,
    })
}

/// Ends a wrong guess's check: the slot is free again, and unlocking is
/// refused until `blocked_until` when the guess earned a wait.
pub async fn finish_unlock_check(db: &Db, id: &str, blocked_until: Option<i64>) -> StoreResult<()> {
    match blocked_until {
        Some(until) => {
            sqlx::query("UPDATE web_sessions SET unlock_checking_until = NULL, unlock_blocked_until = $2 WHERE id = $1")
                .bind(id)
                .bind(until)
                .execute(db.pool())
                .await?
        }
        None => {
            sqlx::query("UPDATE web_sessions SET unlock_checking_until = NULL WHERE id = $1")
                .bind(id)
                .execute(db.pool())
                .await?
        }
    };
    Ok(())
}

/// Unlocks after a right password, ending its check.
pub async fn unlock_after_check(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE web_sessions SET locked = 0, failed_unlocks = 0, unlock_blocked_until = NULL, \
         unlock_checking_until = NULL, last_active_at = $2 WHERE id = $1 AND signed_out_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}
