//! Customer pseudonyms: the only customer id a plugin ever sees.
//!
//! `cus_` + the first 128 bits of HMAC-SHA256(business's pseudonym key, handle):
//! stable for one business (the same person always gets the same id; a handle is
//! normalised as [`crate::privacy::normalize_handle`] says), unlinkable
//! across businesses (each has its own key), and not reversible to the handle.

pub fn derive(pseudonym_key: &str, handle: &str) -> String {
    let digest =
        crate::signing::hmac_sha256(pseudonym_key.as_bytes(), &[crate::privacy::normalize_handle(handle).as_bytes()]);
    format!("cus_{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_business_and_different_across_businesses() {
        let a = derive("key-of-shop-a", "+34 600 111 222");
        assert_eq!(a, derive("key-of-shop-a", "+34600111222"), "formatting of a phone number does not matter");
        assert_ne!(a, derive("key-of-shop-b", "+34600111222"), "another shop sees another id");
        assert!(a.starts_with("cus_") && a.len() == 4 + 32);
        assert!(!a.contains("600111222"));
    }
}
