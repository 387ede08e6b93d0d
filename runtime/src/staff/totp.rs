//! The optional second factor: time-based one-time codes (TOTP, RFC 6238:
//! HMAC-SHA1, 30-second steps, 6 digits), as authenticator apps make them.
//! This module owns the secret's making and its base32 form, the code of a
//! time step, and checking a code (one step of clock drift either way); a code
//! is taken once, by its step (`store::staff::take_totp_step`).

use crate::signing;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret, base32 (what an authenticator app is given).
pub fn new_secret() -> String {
    let random = [uuid::Uuid::new_v4().into_bytes(), uuid::Uuid::new_v4().into_bytes()].concat();
    base32(&random[..SECRET_BYTES])
}

/// RFC 4648 base32, without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Base32 back to bytes (case and spaces ignored, padding allowed); `None`
/// for any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b' ' | b'=')) {
        let value = BASE32.iter().position(|&b| b == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

/// The step a Unix time (seconds) falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code of `step` under `secret` (RFC 4226's HOTP of the step).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let tag = signing::hmac_sha1(secret, &step.to_be_bytes());
    let offset = usize::from(tag[19] & 0x0f);
    let value = u32::from_be_bytes([tag[offset] & 0x7f, tag[offset + 1], tag[offset + 2], tag[offset + 3]]);
    value % 10u32.pow(DIGITS)
}

/// The step whose code `code` is, among the step of `unix_secs` and the one
/// on each side of it (a phone's clock may drift); `None` when it is none of
/// them (or not 6 digits).
pub fn matching_step(secret: &[u8], code: &str, unix_secs: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let given: u32 = code.parse().ok()?;
    let now = step_at(unix_secs);
    [now - 1, now, now + 1].into_iter().find(|&step| {
        signing::constant_time_eq(code_at(secret, step).to_string().as_bytes(), given.to_string().as_bytes())
    })
}

/// The `otpauth://` address an authenticator app reads (typed or scanned).
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => char::from(b).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        encode(issuer),
        encode(account),
        encode(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1 rows; the RFC shows 8 digits, of which a
    /// 6-digit code is the last 6).
    #[test]
    fn codes_match_the_published_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight_digits) in [
            (59, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
        ] {
            assert_eq!(code_at(secret, step_at(time)), eight_digits % 1_000_000, "at {time}");
        }
        let code = format!("{:06}", code_at(secret, step_at(59)));
        assert_eq!(matching_step(secret, &code, 59), Some(1));
        assert_eq!(matching_step(secret, &code, 59 + 30), Some(1), "a step late is taken");
        assert_eq!(matching_step(secret, &code, 59 + 90), None, "three steps late is not");
        assert_eq!(matching_step(secret, "12345", 59), None);
        assert_eq!(matching_step(secret, "abcdef", 59), None);
    }

    #[test]
    fn base32_is_rfc_4648s() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32_decode("MZXW6YTBOI").as_deref(), Some(b"foobar".as_slice()));
        assert_eq!(base32_decode("mzxw 6ytb oi======").as_deref(), Some(b"foobar".as_slice()));
        assert_eq!(base32_decode("MZ1"), None);
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).map(|s| s.len()), Some(20));
        assert_ne!(secret, new_secret());
    }
}
