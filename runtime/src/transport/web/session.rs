//! A web chat session's life: how a browser gets one (a secret token and a
//! conversation of its own), and the customer's lock on it.
//!
//! The lock hides the conversation behind a password until it is given again:
//! the password is kept only as an argon2id hash with OWASP's parameters
//! (19 MiB of memory, 2 passes, 1 lane); the chat locks itself after the idle
//! time the customer chose (1, 15 or 60 minutes); after a few wrong passwords
//! unlocking waits longer and longer. Guesses are checked one at a time per
//! session, on every node (`web_sessions::take_unlock_check` takes the one
//! slot before argon2 runs), so parallel sockets cannot check more than the
//! limit allows. There is no way around a forgotten
//! password but signing out, which leaves the conversation locked away and
//! starts a new one.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::ids;
use crate::store::businesses::Business;
use crate::store::web_sessions::{self, WebSession};
use crate::store::{Db, StoreError, conversations, customer_handles};

/// The idle times, in minutes, after which a chat may lock itself.
pub const AUTO_LOCK_MINUTES: [i64; 3] = [1, 15, 60];
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Wrong passwords allowed before unlocking starts to wait.
pub const FREE_ATTEMPTS: i64 = 5;
/// How long an unlock check holds its session's one check slot at most (it
/// gives it back when the password is verified, in tens of milliseconds; a
/// crash leaves it to end on its own).
pub const UNLOCK_CHECK_LEASE_MS: i64 = 30_000;
const FIRST_WAIT_MS: i64 = 30_000;
const LONGEST_WAIT_MS: i64 = 60 * 60_000;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("the chat can lock itself after 1, 15 or 60 idle minutes, or only when asked")]
    BadIdleTime,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// OWASP's argon2id parameters (m = 19 MiB, t = 2, p = 1).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new lock's password and idle time.
pub fn check_new_lock(password: &str, auto_lock_minutes: Option<i64>) -> Result<(), LockError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) || password.trim().is_empty() {
        return Err(LockError::WeakPassword);
    }
    match auto_lock_minutes {
        Some(minutes) if !AUTO_LOCK_MINUTES.contains(&minutes) => Err(LockError::BadIdleTime),
        _ => Ok(()),
    }
}

/// The PHC string kept for a password. Slow on purpose (tens of
/// milliseconds): call it off the async threads.
pub fn hash_password(password: &str) -> Result<String, LockError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| LockError::Hash(e.to_string()))
}

/// True when `password` is the one `phc` was made from. Slow like [`hash_password`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Argon2 runs at once at most this many times per node: each takes 19 MiB
/// and a core for tens of milliseconds, so a flood of `set_lock` or `unlock`
/// frames waits here instead of exhausting memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Checks a new lock, then hashes its password off the async threads.
pub async fn hash_off_thread(password: String, auto_lock_minutes: Option<i64>) -> Result<String, LockError> {
    check_new_lock(&password, auto_lock_minutes)?;
    let _turn = HASHING.acquire().await.map_err(|e| LockError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| LockError::Hash(e.to_string()))?
}

/// [`verify_password`] off the async threads; false if it could not run.
pub async fn verify_off_thread(password: String, phc: String) -> bool {
    let Ok(_turn) = HASHING.acquire().await else { return false };
    tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false)
}

/// Until when unlocking is refused after the `failed`-th wrong password in a
/// row: free for the first few, then 30 s, doubling up to an hour.
pub fn blocked_until(failed: i64, now: i64) -> Option<i64> {
    let over = failed - FREE_ATTEMPTS;
    if over < 0 {
        return None;
    }
    let wait = FIRST_WAIT_MS.saturating_mul(1_i64 << over.min(20)).min(LONGEST_WAIT_MS);
    Some(now + wait)
}

/// When an unlocked session with a password and an idle time locks itself.
pub fn idle_deadline(session: &WebSession) -> Option<i64> {
    match (&session.password_hash, session.auto_lock_minutes, session.locked) {
        (Some(_), Some(minutes), false) => Some(session.last_active_at.saturating_add(minutes * 60_000)),
        _ => None,
    }
}

/// A new session for a browser: a secret token (returned once; only its hash
/// is kept) and a conversation of its own with the shop.
pub async fn open(db: &Db, business: &Business, locale: &str) -> Result<(WebSession, String), StoreError> {
    let id = ids::new_id("wcs");
    let token = ids::new_secret("wct");
    let handle = format!("{}:{id}", super::CHANNEL);
    let customer_id = customer_handles::resolve(db, &business.id, &handle).await?;
    let conversation = conversations::open(db, &business.id, &customer_id, super::CHANNEL, &handle, locale).await?;
    let now = ids::now_ms();
    web_sessions::create(db, &id, &business.id, &conversation.id, &ids::hash_secret(&token), now).await?;
    let session = WebSession {
        id,
        business_id: business.id.clone(),
        conversation_id: conversation.id,
        password_hash: None,
        auto_lock_minutes: None,
        locked: false,
        failed_unlocks: 0,
        unlock_blocked_until: None,
        last_active_at: now,
    };
    Ok((session, token))
}

/// The customer's handle for a session, as the conversation knows it.
pub fn handle(session: &WebSession) -> String {
    format!("{}:{}", super::CHANNEL, session.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_opens_only_its_own_hash() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
        // Salted: the same password never hashes the same twice.
        assert_ne!(phc, hash_password("correct horse").expect("hash"));
    }

    #[test]
    fn locks_need_a_real_password_and_an_offered_idle_time() {
        assert!(check_new_lock("short", None).is_err());
        assert!(check_new_lock("        ", None).is_err());
        assert!(check_new_lock("long enough", Some(15)).is_ok());
        assert!(check_new_lock("long enough", Some(5)).is_err());
        assert!(check_new_lock(&"x".repeat(129), None).is_err());
    }

    #[test]
    fn wrong_passwords_make_unlocking_wait_longer_and_longer() {
        assert_eq!(blocked_until(FREE_ATTEMPTS - 1, 0), None);
        assert_eq!(blocked_until(FREE_ATTEMPTS, 0), Some(30_000));
        assert_eq!(blocked_until(FREE_ATTEMPTS + 1, 0), Some(60_000));
        assert_eq!(blocked_until(FREE_ATTEMPTS + 40, 0), Some(LONGEST_WAIT_MS));
    }
}
