//! The blind index: a customer's handle as a keyed hash, so a handle is found
//! without keeping it. HMAC-SHA256 under the business's own index key (a
//! random data key stored wrapped, like every other), over the handle as
//! [`normalize_handle`] writes it. Without the key nothing can be tried
//! against it; with another business's key it matches nothing.

use super::envelope::DataKey;

/// `handle`'s blind index under a business's index key, as hex.
pub fn blind_index(index_key: &DataKey, handle: &str) -> String {
    let normal = normalize_handle(handle);
    crate::signing::hmac_sha256_hex(index_key.bytes(), &[b"bottega blind index 1\0", normal.as_bytes()])
}

/// A transport's message id as a keyed hash under the same index key, taken
/// over the id exactly as the transport wrote it (no normalisation: ids are
/// case-sensitive base64). WhatsApp's ids (wamids) encode the customer's
/// number, so they are kept, matched and deduplicated by this hash only.
pub fn message_key(index_key: &DataKey, message_id: &str) -> String {
    crate::signing::hmac_sha256_hex(index_key.bytes(), &[b"bottega message id 1\0", message_id.as_bytes()])
}

/// The same handle written two ways is one customer: surrounding space and
/// case are ignored, and so are a phone number's spaces, dashes, brackets and
/// international prefix (`+` or `00`): WhatsApp names a customer by bare
/// digits (`34600111222`), an operator erasing by phone writes `+34 600…`.
pub fn normalize_handle(handle: &str) -> String {
    let trimmed = handle.trim();
    let looks_like_phone = trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if looks_like_phone {
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        match (trimmed.starts_with('+'), digits.strip_prefix("00")) {
            (false, Some(international)) => international.to_string(),
            _ => digits,
        }
    } else {
        trimmed.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_handle_written_two_ways_has_one_index_per_business() {
        let shop_a = DataKey::generate("dk_a".into()).expect("random key");
        let shop_b = DataKey::generate("dk_b".into()).expect("random key");
        let index = blind_index(&shop_a, "+34 600 111 222");
        assert_eq!(index, blind_index(&shop_a, "+34600111222"));
        assert_eq!(index, blind_index(&shop_a, "34600111222"), "WhatsApp's bare digits are the same number");
        assert_eq!(index, blind_index(&shop_a, "0034 600 111 222"));
        assert_eq!(blind_index(&shop_a, " Ana@Example.org "), blind_index(&shop_a, "ana@example.org"));
        assert_ne!(index, blind_index(&shop_b, "+34600111222"), "another shop's index matches nothing");
        assert!(!index.contains("600111222") && index.len() == 64);
    }

    #[test]
    fn a_message_id_is_hashed_as_written() {
        let shop = DataKey::generate("dk_a".into()).expect("random key");
        let wamid = "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTdBRTM1QjlBODU3MjA4MkE2QQA=";
        let key = message_key(&shop, wamid);
        assert_eq!(key, message_key(&shop, wamid));
        assert_ne!(key, message_key(&shop, &wamid.to_lowercase()), "base64 is case-sensitive");
        assert_ne!(key, blind_index(&shop, wamid), "a message id's hash is not a handle's");
        assert!(!key.contains("MzQ2MDAx") && key.len() == 64);
    }
}
