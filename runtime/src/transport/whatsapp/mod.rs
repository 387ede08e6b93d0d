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
/// body with the app secret, in constant time. Meta signs the body with
/// non-ASCII characters escaped as `\uXXXX` (UTF-16 code units, lowercase
/// hex), and usually sends those very bytes; a delivery whose bytes arrive as
/// UTF-8 instead (re-encoded on the way) is accepted when the signature
/// matches its escaped form ([`escape_non_ascii`]). Both forms are the same
/// JSON: non-ASCII can only occur inside strings. Never re-serialized JSON.
pub fn signature_valid(app_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_signature) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Ok(signature) = hex::decode(hex_signature) else { return false };
    if signing::hmac_sha256_verify(app_secret.as_bytes(), &[body], &signature) {
        return true;
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.is_ascii() => {
            let escaped = escape_non_ascii(text);
            signing::hmac_sha256_verify(app_secret.as_bytes(), &[escaped.as_bytes()], &signature)
        }
        _ => false,
    }
}

/// `text` with every non-ASCII character written as Meta writes it before
/// signing: `\uXXXX` per UTF-16 code unit, lowercase hex (`é` is `\u00e9`,
/// `😀` is `\ud83d\ude00`).
pub fn escape_non_ascii(text: &str) -> String {
    use std::fmt::Write as _;
    let mut escaped = String::with_capacity(text.len() + text.len() / 2);
    for c in text.chars() {
        if c.is_ascii() {
            escaped.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(escaped, "\\u{unit:04x}");
            }
        }
    }
    escaped
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
        assert!(
            signature_valid("secret", Some(&header), r#"{"entry":[{"text":"café"}]}"#.as_bytes()),
            "its escaped form"
        );
        assert!(!signature_valid("secret", Some(&header), r#"{"entry":[{"text":"cafe"}]}"#.as_bytes()));
        assert!(!signature_valid("secret", None, body));
        assert!(!signature_valid("secret", Some("sha256=zz"), body));
        assert!(!signature_valid("secret", Some(header.trim_start_matches("sha256=")), body));
    }

    #[test]
    fn a_utf8_body_is_accepted_when_meta_signed_its_escaped_form() {
        let escaped = br#"{"entry":[{"text":"caf\u00e9 \u307f\ud83d\ude00"}]}"#;
        let utf8 = r#"{"entry":[{"text":"café み😀"}]}"#.as_bytes();
        assert_eq!(escape_non_ascii(std::str::from_utf8(utf8).expect("utf-8")).as_bytes(), escaped);
        let header = sign("secret", escaped);
        assert!(signature_valid("secret", Some(&header), escaped), "the bytes Meta sent");
        assert!(signature_valid("secret", Some(&header), utf8), "the same JSON, re-encoded as UTF-8");
        assert!(!signature_valid("other", Some(&header), utf8));
        // Signed over UTF-8 (not what Meta does) still verifies as the exact bytes.
        assert!(signature_valid("secret", Some(&sign("secret", utf8)), utf8));
        // Another text is not accepted through the escaped form.
        assert!(!signature_valid("secret", Some(&header), r#"{"entry":[{"text":"cafe み😀"}]}"#.as_bytes()));
        assert!(!signature_valid("secret", Some(&header), b"\xff\xfe not utf-8"));
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
