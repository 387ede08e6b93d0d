//! Owner-only files: the data directory, the embedded database with its WAL
//! and shared-memory files, and the compiled-plugin cache are created (and,
//! when found wider, narrowed) readable by the runtime's user alone, so no
//! other local user reads a conversation off the disk.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents as `rwx------`, and narrows `dir`
/// itself to that when it already exists with more.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    make_private(dir)
}

/// Creates the empty file `path` as `rw-------` unless it exists (SQLite then
/// opens it, and gives its WAL and shared-memory files the same mode).
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Writes `bytes` into a new file `path` as `rw-------` (replacing one there).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    make_private(path)
}

/// Takes every group and other permission off `path`, if it exists.
pub fn make_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("exists").permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_owner_only() {
        let root = tempfile::tempdir().expect("temporary directory");
        let data = root.path().join("data");
        create_private_dir_all(&data.join("compiled")).expect("created");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("compiled")), 0o700);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir_all(&data).expect("already there");
        assert_eq!(mode(&data), 0o700, "a wider existing directory is narrowed");

        let db = data.join("bottega.db");
        create_private_file(&db).expect("created");
        assert_eq!(mode(&db), 0o600);
        write_private_file(&data.join("artifact"), b"bytes").expect("written");
        assert_eq!(mode(&data.join("artifact")), 0o600);
        std::fs::write(data.join("wide"), b"x").expect("written");
        std::fs::set_permissions(data.join("wide"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        make_private(&data.join("wide")).expect("narrowed");
        assert_eq!(mode(&data.join("wide")), 0o600);
        make_private(&data.join("absent")).expect("nothing to narrow");
    }
}
