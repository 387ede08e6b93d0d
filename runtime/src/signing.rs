//! Keyed hashing, owned here: HMAC-SHA256 (the signatures on webhooks to
//! businesses, WhatsApp's `X-Hub-Signature-256`, console
//! CSRF tokens), HMAC-SHA1 (only for TOTP codes, which RFC 6238 defines with
//! it) and constant-time comparison of secrets. No other module builds a MAC
//! or compares a secret byte by byte.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// HMAC-SHA256 under `key` of `parts`, concatenated.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&keyed(key, parts).finalize().into_bytes());
    tag
}

/// [`hmac_sha256`] as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

/// True when `tag` is the HMAC-SHA256 under `key` of `parts`, concatenated;
/// compared in constant time.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    keyed(key, parts).verify_slice(tag).is_ok()
}

/// HMAC-SHA1 under `key` of `message`: only for TOTP codes (RFC 6238, whose
/// authenticator apps compute it so), never for a signature of our own.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    let mut tag = [0u8; 20];
    tag.copy_from_slice(&mac.finalize().into_bytes());
    tag
}

/// True when `a` and `b` are equal, in a time that tells nothing about where
/// they differ or how long `b` is: both are hashed under one key and the tags
/// compared as a MAC check.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Any key does: it hides nothing, it only makes both sides fixed-length tags.
    const KEY: &[u8] = b"bottega constant-time comparison";
    hmac_sha256_verify(KEY, &[a], &hmac_sha256(KEY, &[b]))
}

fn keyed(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for &part in parts {
        mac.update(part);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2.
    #[test]
    fn hmac_sha256_matches_the_published_vector() {
        let (key, data): (&[u8], &[u8]) = (b"Jefe", b"what do ya want for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hmac_sha256_hex(key, &[data]), expected);
        assert_eq!(hmac_sha256_hex(key, &[&data[..16], &data[16..]]), expected, "parts are concatenated");
        let tag = hmac_sha256(key, &[data]);
        assert!(hmac_sha256_verify(key, &[data], &tag));
        assert!(!hmac_sha256_verify(key, &[b"what do ya want for nothing!".as_slice()], &tag));
        assert!(!hmac_sha256_verify(key, &[data], &tag[..16]), "a truncated tag is refused");
    }

    /// RFC 2202, test case 2.
    #[test]
    fn hmac_sha1_matches_the_published_vector() {
        let tag = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(tag), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"verify-me", b"verify-me"));
        assert!(!constant_time_eq(b"verify-me", b"verify-mf"));
        assert!(!constant_time_eq(b"verify-me", b"verify-me "));
        assert!(constant_time_eq(b"", b""));
    }
}
