//! The contract versions this host serves, and how each is served.
//!
//! `wit/shop.wit` is the current version; every earlier published version is
//! kept, frozen, in `wit/versions/<version>/shop.wit`. The host serves the
//! current version and the previous one side by side, so a plugin built
//! against the previous version keeps working after a host upgrade.
//!
//! 1.1.0 only added an interface (`orders`), so a 1.0.0 plugin is served by the
//! current bindings: wasmtime matches a component's `bottega:shop/…@1.0.0`
//! imports and exports to the host's `@1.1.0` ones by semver-compatible name
//! (same major version), and every 1.0.0 function and type is unchanged in
//! 1.1.0, so the link type-checks. What keeps that true is checked here: a
//! plugin may import only the interfaces of the version it was built for, and
//! The tests below keep the frozen files frozen.
//!
//! A breaking version (2.0.0) would get its own `bindgen!` beside
//! [`super::bindings`], with the previous major's exports called through theirs
//! and their values converted; the list below is where it would be named.

/// The contract's package name.
pub const PACKAGE: &str = "bottega:shop";

/// One contract version the host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractVersion {
    pub version: &'static str,
    /// The interfaces a plugin of this version may import (besides WASI).
    pub imports: &'static [&'static str],
}

/// The version `wit/shop.wit` declares: what new plugins are built against.
pub const CURRENT: ContractVersion =
    ContractVersion { version: "1.1.0", imports: &["types", "catalog", "cart", "kv", "log", "clock", "orders"] };

/// The version before it, served for plugins built before the upgrade.
pub const PREVIOUS: ContractVersion =
    ContractVersion { version: "1.0.0", imports: &["types", "catalog", "cart", "kv", "log", "clock"] };

/// Versions this host serves, newest first.
pub const SUPPORTED: [ContractVersion; 2] = [CURRENT, PREVIOUS];

/// Interfaces every plugin exports, in every supported version.
pub const REQUIRED_EXPORTS: &[&str] = &["bot", "storefront"];

impl ContractVersion {
    /// The served version named `version` (e.g. `1.0.0`), if any.
    pub fn find(version: &str) -> Option<ContractVersion> {
        SUPPORTED.into_iter().find(|v| v.version == version)
    }

    /// e.g. `bottega:shop@1.0.0`
    pub fn world(&self) -> String {
        format!("{PACKAGE}@{}", self.version)
    }

    /// Whether a plugin of this version may import `interface` (a name such as `orders`).
    pub fn has_import(&self, interface: &str) -> bool {
        self.imports.contains(&interface)
    }
}

/// The supported worlds, newest first, for messages: `bottega:shop@1.1.0, bottega:shop@1.0.0`.
pub fn supported_worlds() -> String {
    SUPPORTED.iter().map(ContractVersion::world).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use sha2::{Digest, Sha256};

    use super::*;

    fn wit_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The `import x;` lines of a WIT file's world.
    fn world_imports(wit: &str) -> Vec<String> {
        let mut imports: Vec<String> = wit
            .lines()
            .filter_map(|line| line.trim().strip_prefix("import ")?.strip_suffix(';').map(str::to_string))
            .collect();
        imports.push("types".to_string());
        imports.sort();
        imports
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_current_version_is_what_wit_shop_declares() {
        let wit = read(&wit_dir().join("shop.wit"));
        assert!(wit.contains(&format!("package {}@{};", PACKAGE, CURRENT.version)), "wit/shop.wit is not {CURRENT:?}");
        assert_eq!(world_imports(&wit), sorted(CURRENT.imports));
    }

    #[test]
    fn every_earlier_served_version_is_kept_in_wit_versions() {
        for version in SUPPORTED.iter().filter(|v| **v != CURRENT) {
            let wit = read(&wit_dir().join("versions").join(version.version).join("shop.wit"));
            assert!(wit.contains(&format!("package {}@{};", PACKAGE, version.version)));
            assert_eq!(world_imports(&wit), sorted(version.imports), "{}", version.version);
        }
    }

    #[test]
    fn published_versions_are_frozen() {
        // A published version is never edited: plugins in production were built
        // from exactly these bytes. A change belongs in a new version.
        let frozen = [("1.0.0", "5e1a24e8a7fda40db51aacdfb5d04e469f51cc553b0219d7b22da8150f9a52b6")];
        for (version, sha256) in frozen {
            let bytes = std::fs::read(wit_dir().join("versions").join(version).join("shop.wit")).expect("frozen WIT");
            assert_eq!(hex::encode(Sha256::digest(&bytes)), sha256, "wit/versions/{version}/shop.wit was edited");
        }
    }
}
