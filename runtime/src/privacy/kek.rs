//! The key-encryption key (KEK): where it comes from (a key file, the
//! `BOTTEGA_KEK` environment variable, or for the embedded SQLite default a
//! file generated in the data directory on first start), its id, and the
//! refusal to use a key file that anyone but its owner can read.
//!
//! The key is 32 random bytes written as base64 (a key file holds just that
//! line). Its id is a hash of it, so every wrapped data key names the KEK that
//! wrapped it without revealing it. PostgreSQL has no default: many nodes
//! share one database and must share one KEK, so the operator names it.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::PrivacyError;

/// Bytes in a key-encryption key (and in every data key).
pub const KEY_BYTES: usize = 32;

/// The key file generated in the data directory for the embedded database.
pub const GENERATED_KEY_FILE: &str = "bottega.key";

/// A key-encryption key. Its bytes are never printed (`Debug` shows the id).
#[derive(Clone)]
pub struct Kek {
    id: String,
    key: [u8; KEY_BYTES],
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Kek {
    /// The key of these bytes.
    pub fn from_bytes(key: [u8; KEY_BYTES]) -> Kek {
        let digest = Sha256::new().chain_update(b"bottega key-encryption key id\0").chain_update(key).finalize();
        Kek { id: format!("kek_{}", hex::encode(&digest[..8])), key }
    }

    /// The key written as base64 (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<Kek, KekError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| KekError::NotBase64)?;
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|b: Vec<u8>| KekError::WrongLength(b.len()))?;
        Ok(Kek::from_bytes(key))
    }

    /// A new random key.
    pub fn generate() -> Result<Kek, PrivacyError> {
        Ok(Kek::from_bytes(super::envelope::random_bytes()?))
    }

    /// The key as base64, as a key file holds it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// Names the key without revealing it (`kek_` and 16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.key
    }
}

/// Where the operator keeps the key-encryption key.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum KeySource {
    /// None named: the embedded database uses (and on first start generates)
    /// `bottega.key` in the data directory; PostgreSQL refuses to start.
    #[default]
    Default,
    /// A key file (`--key-file`, `BOTTEGA_KEY_FILE`): one line of base64,
    /// readable by its owner only.
    File(PathBuf),
    /// The key itself as base64 (`BOTTEGA_KEK`).
    Base64(String),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Default => f.write_str("Default"),
            KeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            KeySource::Base64(_) => f.write_str("Base64(<redacted>)"),
        }
    }
}

/// Why the node has no key-encryption key to start with.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error("the key-encryption key is not base64")]
    NotBase64,
    #[error("the key-encryption key must be 32 bytes, not {0}")]
    WrongLength(usize),
    #[error(
        "the key file {path} can be read by others (mode {mode:o}); make it readable by its owner only: chmod 600 {path}"
    )]
    Exposed { path: String, mode: u32 },
    #[error("cannot read the key file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("cannot create the key file {path}: {reason}")]
    Uncreatable { path: String, reason: String },
    #[error(
        "PostgreSQL needs a key-encryption key shared by every node: name one with --key-file or BOTTEGA_KEY_FILE, or give it as base64 in BOTTEGA_KEK"
    )]
    Missing,
}

/// The key the node starts with, and whether it was just generated (the
/// caller says so in the log).
#[derive(Debug)]
pub struct LoadedKek {
    pub kek: Kek,
    /// The file it was generated into, on the embedded database's first start.
    pub generated: Option<PathBuf>,
}

/// The key `source` names; `embedded` says the database is the embedded
/// SQLite one in `data_dir`, the only case where a key may be generated.
pub fn load(source: &KeySource, data_dir: &Path, embedded: bool) -> Result<LoadedKek, KekError> {
    match source {
        KeySource::Base64(text) => Ok(LoadedKek { kek: Kek::from_base64(text)?, generated: None }),
        KeySource::File(path) => Ok(LoadedKek { kek: read_key_file(path)?, generated: None }),
        KeySource::Default if !embedded => Err(KekError::Missing),
        KeySource::Default => {
            let path = data_dir.join(GENERATED_KEY_FILE);
            if path.exists() {
                return Ok(LoadedKek { kek: read_key_file(&path)?, generated: None });
            }
            let kek = Kek::generate().map_err(|e| uncreatable(&path, e))?;
            match write_key_file(&path, &kek) {
                Ok(()) => Ok(LoadedKek { kek, generated: Some(path) }),
                // Another process starting on the same directory wrote it first.
                Err(_) if path.exists() => Ok(LoadedKek { kek: read_key_file(&path)?, generated: None }),
                Err(e) => Err(e),
            }
        }
    }
}

/// Reads a key file, refusing one its group or others may read or write.
pub fn read_key_file(path: &Path) -> Result<Kek, KekError> {
    let unreadable =
        |e: std::io::Error| KekError::Unreadable { path: path.display().to_string(), reason: e.to_string() };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    check_owner_only(path, &metadata)?;
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    Kek::from_base64(&text)
}

/// Writes `kek` into a new file at `path`, readable and writable by its owner only.
pub fn write_key_file(path: &Path, kek: &Kek) -> Result<(), KekError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| uncreatable(path, e))?;
    file.write_all(format!("{}\n", kek.to_base64()).as_bytes()).map_err(|e| uncreatable(path, e))?;
    file.sync_all().map_err(|e| uncreatable(path, e))
}

#[cfg(unix)]
fn check_owner_only(path: &Path, metadata: &std::fs::Metadata) -> Result<(), KekError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KekError::Exposed { path: path.display().to_string(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), KekError> {
    Ok(())
}

fn uncreatable(path: &Path, reason: impl fmt::Display) -> KekError {
    KekError::Uncreatable { path: path.display().to_string(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_from_its_base64_and_keeps_its_id() {
        let kek = Kek::generate().expect("random key");
        let again = Kek::from_base64(&format!("  {}\n", kek.to_base64())).expect("its own base64");
        assert_eq!(again.id(), kek.id());
        assert!(kek.id().starts_with("kek_") && kek.id().len() == 4 + 16);
        assert!(!format!("{kek:?}").contains(&kek.to_base64()), "Debug never shows the key");
        assert!(matches!(Kek::from_base64("not base64!"), Err(KekError::NotBase64)));
        assert!(matches!(Kek::from_base64(&STANDARD.encode([7u8; 16])), Err(KekError::WrongLength(16))));
    }

    #[test]
    fn the_embedded_default_is_generated_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let first = load(&KeySource::Default, dir.path(), true).expect("generated");
        let path = first.generated.clone().expect("said it was generated");
        let second = load(&KeySource::Default, dir.path(), true).expect("read back");
        assert!(second.generated.is_none(), "generated only on the first start");
        assert_eq!(first.kek.id(), second.kek.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("key file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn postgres_without_a_key_refuses_to_start() {
        let dir = tempfile::tempdir().expect("temporary directory");
        assert!(matches!(load(&KeySource::Default, dir.path(), false), Err(KekError::Missing)));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("operator.key");
        write_key_file(&path, &Kek::generate().expect("random key")).expect("written");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let refused = load(&KeySource::File(path.clone()), dir.path(), false).expect_err("group may read it");
        assert!(matches!(refused, KekError::Exposed { mode: 0o640, .. }), "{refused}");
        assert!(refused.to_string().contains("chmod 600"), "the message says what to do: {refused}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        assert!(load(&KeySource::File(path), dir.path(), false).is_ok(), "owner-only is accepted");
    }
}
