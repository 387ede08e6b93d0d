//! Privacy by construction, the cryptography of it: the key-encryption key
//! held outside the database ([`kek`]), the random data keys it wraps and the
//! sealing of values under them ([`envelope`]), the blind index that finds a
//! customer by handle without keeping the handle ([`blind`]), and the bounded
//! cache of unwrapped data keys ([`cache`]); and the owner-only files the
//! runtime keeps on disk ([`files`]); and what every column of the schema
//! holds ([`columns`]).
//!
//! A leaf: it imports nothing of the crate but [`crate::signing`]'s HMAC.
//! `store/` keeps the wrapped keys (`store::data_keys`) and seals and opens
//! every sealed column through the one helper there; nothing else calls
//! [`envelope::seal`] or [`envelope::open`].
//!
//! *Invariants:* data keys are random and stored wrapped, never derived (a
//! derived key could be derived again, so it could not be shredded); a sealed
//! value names the key that sealed it and is bound to its table, column and
//! row, so a value copied to another row does not open; the key-encryption
//! key never reaches the database or a log line.

pub mod blind;
pub mod cache;
pub mod columns;
pub mod envelope;
pub mod files;
pub mod kek;

use std::sync::Arc;

pub use blind::{blind_index, message_key, normalize_handle};
pub use cache::KeyCache;
pub use envelope::{Binding, DataKey};
pub use kek::{Kek, KekError, KeySource};

/// What went wrong sealing or opening a value, or wrapping a key.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// The stored text is not in a format this version reads.
    #[error("a sealed value is malformed: {0}")]
    Malformed(&'static str),
    /// The value was sealed under another key than the one given.
    #[error("a value sealed under key {found} was opened with key {expected}")]
    WrongKey { expected: String, found: String },
    /// Authentication failed: the wrong key, the wrong row or column (a value
    /// moved), or a changed byte.
    #[error("a sealed value does not open under its key and place (moved, altered, or the wrong key)")]
    Forged,
    /// A data key was wrapped by a key-encryption key this node does not hold.
    #[error("a data key is wrapped by key-encryption key {0}, which this node does not hold")]
    UnknownKek(String),
}

/// How many unwrapped data keys a node keeps by default (one per customer
/// recently seen, plus each business's two).
pub const DEFAULT_CACHED_KEYS: usize = 10_000;

/// The node's keys: the key-encryption key new data keys are wrapped by, the
/// earlier ones it still unwraps with (during a rotation), and the cache of
/// unwrapped data keys.
#[derive(Debug)]
pub struct Keyring {
    current: Kek,
    previous: Vec<Kek>,
    cache: KeyCache,
}

impl Keyring {
    /// A keyring wrapping with `current` and caching up to `cached_keys` data keys.
    pub fn new(current: Kek, cached_keys: usize) -> Keyring {
        Keyring { current, previous: Vec::new(), cache: KeyCache::new(cached_keys) }
    }

    /// Also unwraps keys wrapped by `kek` (an earlier key-encryption key, kept
    /// while its data keys are re-wrapped).
    pub fn with_previous(mut self, kek: Kek) -> Keyring {
        if kek.id() != self.current.id() {
            self.previous.push(kek);
        }
        self
    }

    /// The id of the key-encryption key new data keys are wrapped by.
    pub fn current_kek_id(&self) -> &str {
        self.current.id()
    }

    /// `key` wrapped by the current key-encryption key, as stored.
    pub fn wrap(&self, key: &DataKey) -> Result<String, PrivacyError> {
        envelope::wrap(&self.current, key)
    }

    /// The data key `key_id` from its stored `wrapped` form, by whichever
    /// key-encryption key this keyring holds that wrapped it.
    pub fn unwrap(&self, key_id: &str, wrapped: &str) -> Result<DataKey, PrivacyError> {
        let kek_id = envelope::wrapping_kek_id(wrapped)?;
        let kek = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id() == kek_id)
            .ok_or_else(|| PrivacyError::UnknownKek(kek_id.to_string()))?;
        envelope::unwrap(kek, key_id, wrapped)
    }

    /// `wrapped` wrapped again by the current key-encryption key; `None` when
    /// it already is.
    pub fn rewrap(&self, key_id: &str, wrapped: &str) -> Result<Option<String>, PrivacyError> {
        if envelope::wrapping_kek_id(wrapped)? == self.current.id() {
            return Ok(None);
        }
        let key = self.unwrap(key_id, wrapped)?;
        Ok(Some(self.wrap(&key)?))
    }

    /// The unwrapped data keys this node keeps.
    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }
}

/// A shared keyring.
pub type SharedKeyring = Arc<Keyring>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_rewraps_under_the_new_key_and_the_old_key_alone_no_longer_unwraps() {
        let old = Kek::generate().expect("random key");
        let new = Kek::generate().expect("random key");
        let before = Keyring::new(old.clone(), 10);
        let key = DataKey::generate("dk_1".into()).expect("random key");
        let wrapped = before.wrap(&key).expect("wrapped");
        let during = Keyring::new(new.clone(), 10).with_previous(old.clone());
        assert!(during.unwrap("dk_1", &wrapped).is_ok(), "the previous key still reads");
        let rewrapped = during.rewrap("dk_1", &wrapped).expect("rewrapped").expect("it was under the old key");
        assert_eq!(envelope::wrapping_kek_id(&rewrapped).expect("names its KEK"), new.id());
        assert!(during.rewrap("dk_1", &rewrapped).expect("nothing to do").is_none());
        let after = Keyring::new(new, 10);
        let sealed = envelope::seal(&key, Binding::new("t", "c", "r"), b"x").expect("sealed");
        let unwrapped = after.unwrap("dk_1", &rewrapped).expect("the new key alone reads it");
        assert_eq!(envelope::open(&unwrapped, Binding::new("t", "c", "r"), &sealed).expect("opens"), b"x");
        assert!(matches!(Keyring::new(old, 10).unwrap("dk_1", &rewrapped), Err(PrivacyError::UnknownKek(_))));
    }
}
