//! Envelope encryption: random data keys, sealed values under them, and data
//! keys wrapped by the key-encryption key.
//!
//! A sealed value is text, so it fits a `TEXT` column on both databases:
//! `bv1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, XChaCha20-Poly1305
//! with a random 24-byte nonce. Its associated data is the table, column and
//! row it belongs to and the key id, each length-prefixed, so a value copied
//! to another row, column or table does not open. A wrapped data key is
//! `kv1:<KEK id>:<base64 …>`, bound the same way to the data key's id.
//! The version prefix lets a later format be read beside this one.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::PrivacyError;
use super::kek::{KEY_BYTES, Kek};

/// The prefix of a value sealed by this version.
pub const SEALED_PREFIX: &str = "bv1:";
/// The prefix of a data key wrapped by this version.
const WRAPPED_PREFIX: &str = "kv1:";
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;

/// A data key, unwrapped: random, named by its id (as stored). Its bytes are
/// never printed.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    key: [u8; KEY_BYTES],
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl DataKey {
    /// A new random key named `id`.
    pub fn generate(id: String) -> Result<DataKey, PrivacyError> {
        Ok(DataKey { id, key: random_bytes()? })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.key
    }
}

/// Where a sealed value lives: its table, column and row (the row's primary
/// key, its parts joined by `/`).
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl<'a> Binding<'a> {
    pub fn new(table: &'a str, column: &'a str, row: &'a str) -> Binding<'a> {
        Binding { table, column, row }
    }
}

/// True when `stored` is a sealed value (of any key).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The id of the key that sealed `stored`, when it is a sealed value.
pub fn sealing_key_id(stored: &str) -> Option<&str> {
    stored.strip_prefix(SEALED_PREFIX)?.split_once(':').map(|(id, _)| id)
}

/// `plaintext` sealed under `key` for its place `at`.
pub fn seal(key: &DataKey, at: Binding<'_>, plaintext: &[u8]) -> Result<String, PrivacyError> {
    let aad = associated_data(b"value", &[at.table, at.column, at.row, &key.id]);
    let sealed = encrypt(&key.key, &aad, plaintext)?;
    Ok(format!("{SEALED_PREFIX}{}:{sealed}", key.id))
}

/// The plaintext of `stored`, sealed under `key` for its place `at`.
pub fn open(key: &DataKey, at: Binding<'_>, stored: &str) -> Result<Vec<u8>, PrivacyError> {
    let (key_id, sealed) = stored
        .strip_prefix(SEALED_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .ok_or(PrivacyError::Malformed("not a sealed value"))?;
    if key_id != key.id {
        return Err(PrivacyError::WrongKey { expected: key.id.clone(), found: key_id.to_string() });
    }
    let aad = associated_data(b"value", &[at.table, at.column, at.row, &key.id]);
    decrypt(&key.key, &aad, sealed)
}

/// `key` wrapped by `kek`, as stored.
pub fn wrap(kek: &Kek, key: &DataKey) -> Result<String, PrivacyError> {
    let aad = associated_data(b"data key", &[&key.id, kek.id()]);
    let sealed = encrypt(kek.bytes(), &aad, &key.key)?;
    Ok(format!("{WRAPPED_PREFIX}{}:{sealed}", kek.id()))
}

/// The id of the key-encryption key that wrapped `wrapped`.
pub fn wrapping_kek_id(wrapped: &str) -> Result<&str, PrivacyError> {
    wrapped
        .strip_prefix(WRAPPED_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .map(|(id, _)| id)
        .ok_or(PrivacyError::Malformed("not a wrapped data key"))
}

/// The data key `key_id`, unwrapped by `kek` from its stored form.
pub fn unwrap(kek: &Kek, key_id: &str, wrapped: &str) -> Result<DataKey, PrivacyError> {
    let kek_id = wrapping_kek_id(wrapped)?;
    if kek_id != kek.id() {
        return Err(PrivacyError::UnknownKek(kek_id.to_string()));
    }
    let sealed = &wrapped[WRAPPED_PREFIX.len() + kek_id.len() + 1..];
    let aad = associated_data(b"data key", &[key_id, kek.id()]);
    let bytes = decrypt(kek.bytes(), &aad, sealed)?;
    let key: [u8; KEY_BYTES] =
        bytes.try_into().map_err(|_| PrivacyError::Malformed("a data key of the wrong length"))?;
    Ok(DataKey { id: key_id.to_string(), key })
}

/// Random bytes from the operating system.
pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N], PrivacyError> {
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| PrivacyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// `kind`, then each part, each with its length first, so no two different
/// places give the same bytes.
fn associated_data(kind: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    aad.extend_from_slice(b"bottega/1 ");
    aad.extend_from_slice(kind);
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

fn encrypt(key: &[u8; KEY_BYTES], aad: &[u8], plaintext: &[u8]) -> Result<String, PrivacyError> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let nonce: [u8; NONCE_BYTES] = random_bytes()?;
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .map_err(|_| PrivacyError::Malformed("a value too long to seal"))?;
    let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(STANDARD_NO_PAD.encode(out))
}

fn decrypt(key: &[u8; KEY_BYTES], aad: &[u8], sealed: &str) -> Result<Vec<u8>, PrivacyError> {
    let bytes = STANDARD_NO_PAD.decode(sealed).map_err(|_| PrivacyError::Malformed("not base64"))?;
    if bytes.len() < NONCE_BYTES + TAG_BYTES {
        return Err(PrivacyError::Malformed("too short"));
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad }).map_err(|_| PrivacyError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> DataKey {
        DataKey::generate(id.to_string()).expect("random key")
    }

    const HERE: Binding<'static> = Binding { table: "messages", column: "body", row: "msg_1" };

    #[test]
    fn a_sealed_value_opens_in_its_place() {
        let key = key("dk_1");
        let sealed = seal(&key, HERE, "ciao, +34 600 111 222".as_bytes()).expect("sealed");
        assert!(is_sealed(&sealed) && sealed.starts_with("bv1:dk_1:"));
        assert_eq!(sealing_key_id(&sealed), Some("dk_1"));
        assert!(!sealed.contains("600"), "no plaintext in {sealed}");
        assert_eq!(open(&key, HERE, &sealed).expect("opens"), "ciao, +34 600 111 222".as_bytes());
        assert_ne!(
            seal(&key, HERE, b"same").expect("sealed"),
            seal(&key, HERE, b"same").expect("sealed"),
            "fresh nonce"
        );
    }

    #[test]
    fn a_value_moved_to_another_row_column_or_table_does_not_open() {
        let key = key("dk_1");
        let sealed = seal(&key, HERE, b"hello").expect("sealed");
        for elsewhere in [
            Binding::new("messages", "body", "msg_2"),
            Binding::new("messages", "author", "msg_1"),
            Binding::new("customers", "body", "msg_1"),
        ] {
            assert!(matches!(open(&key, elsewhere, &sealed), Err(PrivacyError::Forged)), "{elsewhere:?}");
        }
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = seal(&key("dk_1"), HERE, b"hello").expect("sealed");
        assert!(matches!(open(&key("dk_1"), HERE, &sealed), Err(PrivacyError::Forged)), "same id, other bytes");
        assert!(matches!(open(&key("dk_2"), HERE, &sealed), Err(PrivacyError::WrongKey { .. })));
        // Claiming another key id in the text changes the associated data too.
        let relabelled = sealed.replacen("dk_1", "dk_2", 1);
        assert!(open(&key("dk_2"), HERE, &relabelled).is_err());
    }

    #[test]
    fn a_tampered_byte_does_not_open() {
        let key = key("dk_1");
        let sealed = seal(&key, HERE, b"a message of some length").expect("sealed");
        let body = &sealed["bv1:dk_1:".len()..];
        let mut bytes = STANDARD_NO_PAD.decode(body).expect("base64");
        for at in [0, NONCE_BYTES, bytes.len() - 1] {
            bytes[at] ^= 0x01;
            let tampered = format!("bv1:dk_1:{}", STANDARD_NO_PAD.encode(&bytes));
            assert!(matches!(open(&key, HERE, &tampered), Err(PrivacyError::Forged)), "byte {at}");
            bytes[at] ^= 0x01;
        }
        assert!(matches!(open(&key, HERE, "bv1:dk_1:AAAA"), Err(PrivacyError::Malformed(_))));
        assert!(matches!(open(&key, HERE, "plain text"), Err(PrivacyError::Malformed(_))));
    }

    #[test]
    fn a_wrapped_key_unwraps_only_with_its_kek_and_its_id() {
        let kek = Kek::generate().expect("random key");
        let data = key("dk_1");
        let wrapped = wrap(&kek, &data).expect("wrapped");
        assert_eq!(wrapping_kek_id(&wrapped).expect("names its KEK"), kek.id());
        let unwrapped = unwrap(&kek, "dk_1", &wrapped).expect("unwraps");
        let sealed = seal(&data, HERE, b"hello").expect("sealed");
        assert_eq!(open(&unwrapped, HERE, &sealed).expect("the same key"), b"hello");
        assert!(matches!(unwrap(&kek, "dk_2", &wrapped), Err(PrivacyError::Forged)), "bound to its id");
        let other = Kek::generate().expect("random key");
        assert!(matches!(unwrap(&other, "dk_1", &wrapped), Err(PrivacyError::UnknownKek(_))));
        // A KEK with the same id claimed but other bytes cannot exist (the id
        // is its hash); forging the label in the text fails authentication.
        let relabelled = wrapped.replacen(kek.id(), other.id(), 1);
        assert!(matches!(unwrap(&other, "dk_1", &relabelled), Err(PrivacyError::Forged)));
    }
}
