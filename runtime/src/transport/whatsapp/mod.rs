//! The WhatsApp Cloud API, wire compatible: the webhook's GET verification
//! handshake, `X-Hub-Signature-256` checks over the exact raw body, parsing of
//! every documented inbound kind ([`inbound`]), and translation of replies
//! into send requests within the API's limits ([`outbound`]).

pub mod inbound;
pub mod outbound;

use crate::signing;

/// The channel name conversations and queues use.
pub const CHANNEL: &str = "whatsapp";
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256 of the raw
/// body with the app secret, in constant time. Meta signs the bytes it sends
/// (with non-ASCII escaped as `\uXXXX`), so the body must be the bytes as
/// received, never re-serialized JSON.
pub fn signature_valid(app_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_signature) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Ok(signature) = hex::decode(hex_signature) else { return false };
    signing::hmac_sha256_verify(app_secret.as_bytes(), &[body], &signature)
}

/// The header Meta would send for `body`.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", signing::hmac_sha256_hex(app_secret.as_bytes(), &[body]))
}

/// The answer to the GET handshake: the challenge to echo, or `None` to refuse.
pub fn handshake<'a>(
    verify_token: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
) -> Option<&'a str> {
    let token_matches = token.is_some_and(|t| signing::constant_time_eq(t.as_bytes(), verify_token.as_bytes()));
    (mode == Some("subscribe") && token_matches).then_some(challenge?).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_exact_bytes() {
        let body = br#"{"entry":[{"text":"caf\u00e9"}]}"#;
        let header = sign("secret", body);
        assert!(signature_valid("secret", Some(&header), body));
        assert!(!signature_valid("other", Some(&header), body));
        assert!(!signature_valid("secret", Some(&header), r#"{"entry":[{"text":"café"}]}"#.as_bytes()));
        assert!(!signature_valid("secret", None, body));
        assert!(!signature_valid("secret", Some("sha256=zz"), body));
        assert!(!signature_valid("secret", Some(header.trim_start_matches("sha256=")), body));
    }

    #[test]
    fn the_handshake_echoes_only_on_a_match() {
        assert_eq!(handshake("tok", Some("subscribe"), Some("tok"), Some("42")), Some("42"));
        assert_eq!(handshake("tok", Some("subscribe"), Some("bad"), Some("42")), None);
        assert_eq!(handshake("tok", Some("unsubscribe"), Some("tok"), Some("42")), None);
        assert_eq!(handshake("tok", Some("subscribe"), Some("tok"), None), None);
        assert_eq!(handshake("tok", None, None, None), None);
    }
}
