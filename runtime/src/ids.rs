//! Identifiers and secrets: prefixed, time-ordered ids for rows, and random
//! secrets (API keys, payment-link and web-session tokens) with the hash they
//! are stored under. Comparing secrets is `signing`'s.

use sha2::{Digest, Sha256};

/// A new id such as `biz_01938f6c2b7e7c5a9d0e4f1a2b3c4d5e`: a type prefix and a
/// UUIDv7, so ids sort by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A new secret with 256 bits of entropy, hex encoded, with a readable prefix
/// (`bk_` for business API keys).
pub fn new_secret(prefix: &str) -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{prefix}_{}{}", a.simple(), b.simple())
}

/// SHA-256 hex of a high-entropy secret we only keep the hash of (a business's
/// API key, a payment link's token, a web chat session's token). Such secrets
/// are random and long (see [`new_secret`]), so a fast hash is right here
/// (argon2 is for human passwords).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 rendering of a millisecond timestamp, for the API.
pub fn rfc3339(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(time).to_string()
}

/// The longest id a business may choose (product ids).
pub const MAX_ID_BYTES: usize = 64;

/// An id a business chooses is 1 to [`MAX_ID_BYTES`] of `A-Z a-z 0-9 . _ -`,
/// and not `.` or `..`: safe in a path, a URL and a log line.
pub fn is_safe_id(id: &str) -> bool {
    let alphabet = id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    (1..=MAX_ID_BYTES).contains(&id.len()) && alphabet && id != "." && id != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let first = new_id("msg");
        let second = new_id("msg");
        assert!(first.starts_with("msg_"));
        assert!(first < second, "{first} should sort before {second}");
    }

    #[test]
    fn secrets_are_long_and_distinct_and_hash_exactly() {
        let key = new_secret("bk");
        assert_eq!(key.len(), 3 + 64);
        assert_ne!(key, new_secret("bk"));
        assert_eq!(hash_secret(&key), hash_secret(&key.clone()));
        assert_ne!(hash_secret(&key), hash_secret(&new_secret("bk")));
    }

    /// Queues order rows made in the same millisecond by id: ids made one
    /// after another in a process must sort in that order.
    #[test]
    fn ids_made_in_a_row_sort_in_that_order() {
        let ids: Vec<String> = (0..20_000).map(|_| super::new_id("x")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
