//! Upload validation: before anything is compiled, an upload must be a
//! WebAssembly component (not a core module, not garbage), built against a
//! contract version this host serves, exporting what the contract requires,
//! and importing only what Bottega provides and the business was granted; and
//! none of its core modules may declare more initial memory than the business
//! allows ([`check_initial_memory`]), since such a plugin could never start.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use wasmparser::{KnownCustom, Name, Parser, Payload};

use super::contract::{self, ContractVersion, PACKAGE as CONTRACT_PACKAGE, REQUIRED_EXPORTS};
use crate::grants::{self, Capability};

/// WASI packages the host links (with no files, no environment, no network).
const WASI_PACKAGES: &[&str] =
    &["wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:filesystem/", "wasi:sockets/"];

/// Why an upload was refused. Each message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is empty; send the component's bytes as the request body")]
    Empty,
    #[error("the plugin is {size} bytes; the limit for {class} plugins is {limit} bytes")]
    TooLarge { size: usize, limit: usize, class: LanguageClass },
    #[error("the upload is not WebAssembly (it does not start with the `\\0asm` magic bytes)")]
    NotWasm,
    #[error(
        "the upload is a core WebAssembly module, not a component; build for wasm32-wasip2 (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("the component is malformed: {0}")]
    Malformed(String),
    #[error("{found}; this host supports {}", contract::supported_worlds())]
    UnsupportedWorld { found: String },
    #[error(
        "the component imports `{import}`, which {world} does not have; build it against one WIT version (wit/shop.wit is {})",
        contract::CURRENT.world()
    )]
    NotInVersion { import: String, world: String },
    #[error("the component does not export `{0}`, which every {CONTRACT_PACKAGE} plugin must")]
    MissingExport(String),
    #[error("the component imports `{0}`, which Bottega does not provide (no network, files or other host APIs)")]
    UnknownImport(String),
    #[error("the plugin imports capability `{capability}`, which this business has not been granted")]
    NotGranted { capability: Capability },
    #[error("the component could not be compiled: {0}")]
    Compile(String),
    #[error("the component does not fit the contract: {0}")]
    Link(String),
}

/// Which upload limit applies: components that carry a language runtime
/// (CPython, SpiderMonkey…) are an order of magnitude larger than compiled ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LanguageClass {
    /// Rust, C, Go…: the code is the program.
    Compiled,
    /// Python, JavaScript…: an interpreter embedded with the program.
    Interpreted,
}

impl std::fmt::Display for LanguageClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LanguageClass::Compiled => "compiled",
            LanguageClass::Interpreted => "interpreted",
        })
    }
}

impl crate::config::UploadLimits {
    /// The size limit of an upload of `class`.
    pub fn of(&self, class: LanguageClass) -> usize {
        match class {
            LanguageClass::Compiled => self.compiled,
            LanguageClass::Interpreted => self.interpreted,
        }
    }
}

/// Languages whose toolchains embed an interpreter, as component producers
/// sections name them.
const INTERPRETED_LANGUAGES: &[&str] = &["JavaScript", "Python", "Ruby", "Lua"];

/// The class of a component, read from what its toolchain recorded: a
/// `language` in a producers section that names an interpreted language, or
/// a nested CPython module (componentize-py names it `libpython3.*.so`).
///
/// This is the component's own claim: a compiled plugin could claim to be
/// interpreted and get the larger limit, which is why that limit is the most
/// any upload may be, and the operator sets it.
pub fn language_class(bytes: &[u8]) -> LanguageClass {
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(Payload::CustomSection(section)) = payload else { continue };
        match section.as_known() {
            KnownCustom::Producers(reader) => {
                for field in reader.into_iter().flatten() {
                    if field.name != "language" {
                        continue;
                    }
                    if field.values.into_iter().flatten().any(|v| INTERPRETED_LANGUAGES.contains(&v.name)) {
                        return LanguageClass::Interpreted;
                    }
                }
            }
            KnownCustom::Name(reader) => {
                let module_names = reader.into_iter().flatten().filter_map(|name| match name {
                    Name::Module { name, .. } => Some(name),
                    _ => None,
                });
                if module_names.into_iter().any(|name| name.starts_with("libpython")) {
                    return LanguageClass::Interpreted;
                }
            }
            _ => {}
        }
    }
    LanguageClass::Compiled
}

/// What an accepted upload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub sha256: String,
    /// e.g. `bottega:shop@1.1.0`
    pub world: String,
    /// Capabilities the component imports, sorted.
    pub capabilities: Vec<Capability>,
    pub language_class: LanguageClass,
}

/// Checks an upload's shape without compiling it.
pub fn inspect(
    bytes: &[u8],
    limits: crate::config::UploadLimits,
    granted: &[Capability],
) -> Result<Inspection, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if !bytes.starts_with(b"\0asm") {
        if bytes.len() > limits.largest() {
            // Not WebAssembly, so of no class: the largest limit is the one it broke.
            let class = if limits.interpreted >= limits.compiled {
                LanguageClass::Interpreted
            } else {
                LanguageClass::Compiled
            };
            return Err(UploadError::TooLarge { size: bytes.len(), limit: limits.largest(), class });
        }
        return Err(UploadError::NotWasm);
    }
    let language_class = language_class(bytes);
    if bytes.len() > limits.of(language_class) {
        return Err(UploadError::TooLarge {
            size: bytes.len(),
            limit: limits.of(language_class),
            class: language_class,
        });
    }
    if Parser::is_core_wasm(bytes) {
        return Err(UploadError::CoreModule);
    }
    if !Parser::is_component(bytes) {
        return Err(UploadError::Malformed("unknown WebAssembly encoding version".into()));
    }
    let (imports, exports) = top_level_names(bytes)?;

    let contract = contract_version(&exports)?;
    let version = contract.version;
    for name in REQUIRED_EXPORTS {
        let wanted = format!("{CONTRACT_PACKAGE}/{name}@{version}");
        if !exports.contains(&wanted) {
            return Err(UploadError::MissingExport(wanted));
        }
    }

    let mut capabilities = Vec::new();
    for import in &imports {
        check_contract_import(contract, import)?;
        if let Some(capability) = capability_of(import) {
            capabilities.push(capability);
        } else if import.starts_with(&format!("{CONTRACT_PACKAGE}/types@")) {
            // Types only: nothing to grant.
        } else if !WASI_PACKAGES.iter().any(|p| import.starts_with(p)) {
            return Err(UploadError::UnknownImport(import.clone()));
        }
    }
    capabilities.sort_by_key(|c| c.as_str());
    capabilities.dedup();
    if let Some(capability) = grants::first_ungranted(&capabilities, granted) {
        return Err(UploadError::NotGranted { capability });
    }
    Ok(Inspection { sha256: hex::encode(Sha256::digest(bytes)), world: contract.world(), capabilities, language_class })
}

/// A component one of whose memories starts larger than its business's
/// memory limit: every instantiation would fail, so it could never answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct MemoryExceedsLimit {
    /// The largest initial size among the memories its core modules define.
    pub initial_bytes: u64,
    pub limit_bytes: u64,
}

impl std::fmt::Display for MemoryExceedsLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the component's initial memory is {} bytes ({} MiB), more than this business's memory limit of {} bytes \
             ({} MiB), so it could never start; make its initial memory smaller (large static arrays and \
             `--initial-memory` raise it) or ask the operator for a larger limit",
            self.initial_bytes,
            self.initial_bytes >> 20,
            self.limit_bytes,
            self.limit_bytes >> 20
        )
    }
}

/// Refuses a component one of whose core modules defines a memory whose
/// initial size is more than `limit_bytes`, the business's
/// [`PluginLimits::memory_bytes`](crate::grants::PluginLimits::memory_bytes):
/// the limit applies to each memory as it is created, so instantiating it
/// would fail on every message. Run it on an upload [`inspect`] accepted.
pub fn check_initial_memory(bytes: &[u8], limit_bytes: u64) -> Result<(), MemoryExceedsLimit> {
    match largest_initial_memory(bytes) {
        Some(initial_bytes) if initial_bytes > limit_bytes => Err(MemoryExceedsLimit { initial_bytes, limit_bytes }),
        _ => Ok(()),
    }
}

/// The largest initial size, in bytes, of the memories defined by the core
/// modules of a component (every module, however deeply nested; a component
/// may embed several). Memories a module imports are another module's, and
/// counted there. Parts that do not parse are skipped: [`inspect`] refuses a
/// malformed upload before this is asked.
pub fn largest_initial_memory(bytes: &[u8]) -> Option<u64> {
    let mut largest = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(Payload::MemorySection(reader)) = payload else { continue };
        for memory in reader.into_iter().flatten() {
            // 64 KiB pages unless the module chose another size (custom-page-sizes).
            let page_bits = memory.page_size_log2.unwrap_or(16);
            let size = memory.initial.checked_shl(page_bits).filter(|s| s >> page_bits == memory.initial);
            let size = size.unwrap_or(u64::MAX);
            largest = Some(largest.map_or(size, |l: u64| l.max(size)));
        }
    }
    largest
}

/// The capability behind an imported interface name such as
/// `bottega:shop/catalog@1.0.0`, or `None` for a name that is not one.
fn capability_of(import: &str) -> Option<Capability> {
    let rest = import.strip_prefix(CONTRACT_PACKAGE)?.strip_prefix('/')?;
    let interface = rest.split('@').next()?;
    interface.parse().ok()
}

/// A `bottega:shop/…` import must be an interface of the version the plugin
/// was built for, at that version: 1.0.0 plugins cannot import 1.1.0's
/// `orders`, and one plugin does not mix versions. Other names pass.
fn check_contract_import(contract: ContractVersion, import: &str) -> Result<(), UploadError> {
    let Some(rest) = import.strip_prefix(CONTRACT_PACKAGE).and_then(|r| r.strip_prefix('/')) else {
        return Ok(());
    };
    let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
    if version == contract.version && contract.has_import(interface) {
        Ok(())
    } else {
        Err(UploadError::NotInVersion { import: import.to_string(), world: contract.world() })
    }
}

/// The names a component imports and exports at its top level (not those of
/// the modules and components nested inside it).
fn top_level_names(bytes: &[u8]) -> Result<(Vec<String>, BTreeSet<String>), UploadError> {
    let mut imports = Vec::new();
    let mut exports = BTreeSet::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| UploadError::Malformed(e.message().to_string()))?;
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| UploadError::Malformed(e.message().to_string()))?;
                    imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| UploadError::Malformed(e.message().to_string()))?;
                    exports.insert(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// The contract version the component's exports were built against.
fn contract_version(exports: &BTreeSet<String>) -> Result<ContractVersion, UploadError> {
    let prefix = format!("{CONTRACT_PACKAGE}/");
    let versions: BTreeSet<&str> = exports
        .iter()
        .filter_map(|name| name.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('@').map(|(_, version)| version))
        .collect();
    if let Some(version) = contract::SUPPORTED.into_iter().find(|v| versions.contains(v.version)) {
        return Ok(version);
    }
    let found = if versions.is_empty() {
        let names: Vec<&str> = exports.iter().map(String::as_str).collect();
        format!(
            "the component exports nothing from {CONTRACT_PACKAGE} (it exports: {}); build it against the WIT in wit/",
            if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
        )
    } else {
        let built: Vec<String> = versions.iter().map(|v| format!("{CONTRACT_PACKAGE}@{v}")).collect();
        format!("the component was built for {}", built.join(", "))
    };
    Err(UploadError::UnsupportedWorld { found })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UploadLimits;

    const SMALL: UploadLimits = UploadLimits { compiled: 100, interpreted: 150 };

    #[test]
    fn garbage_core_modules_and_oversized_uploads_are_named() {
        assert_eq!(inspect(b"", SMALL, &[]), Err(UploadError::Empty));
        assert_eq!(inspect(b"hello world", SMALL, &[]), Err(UploadError::NotWasm));
        assert_eq!(inspect(b"\0asm\x01\0\0\0", SMALL, &[]), Err(UploadError::CoreModule));
        assert_eq!(
            inspect(&[0u8; 200], SMALL, &[]),
            Err(UploadError::TooLarge { size: 200, limit: 150, class: LanguageClass::Interpreted })
        );
        let mut big_module = b"\0asm\x01\0\0\0".to_vec();
        big_module.resize(120, 0);
        assert_eq!(
            inspect(&big_module, SMALL, &[]),
            Err(UploadError::TooLarge { size: 120, limit: 100, class: LanguageClass::Compiled })
        );
    }

    /// A component embedding one core module that defines a memory of
    /// `pages` 64 KiB pages (fewer than 16384, so two LEB128 bytes), and a
    /// second that imports its memory (not counted).
    fn component_with_memory(pages: u16) -> Vec<u8> {
        assert!((128..16384).contains(&pages), "two LEB128 bytes");
        let low = u8::try_from(pages & 0x7f).expect("seven bits") | 0x80;
        let high = u8::try_from(pages >> 7).expect("under 16384");
        // A memory section: one memory, no maximum, `pages` initial pages.
        let mut defines = b"\0asm\x01\0\0\0".to_vec();
        defines.extend_from_slice(&[0x05, 0x04, 0x01, 0x00, low, high]);
        // An import section: one import `m` `mem` of a memory of 1 page.
        let mut imports = b"\0asm\x01\0\0\0".to_vec();
        imports.extend_from_slice(&[0x02, 0x0a, 0x01, 0x01, b'm', 0x03, b'm', b'e', b'm', 0x02, 0x00, 0x01]);
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        for module in [defines, imports] {
            component.push(0x01);
            component.push(u8::try_from(module.len()).expect("a small module"));
            component.extend(module);
        }
        component
    }

    #[test]
    fn initial_memory_is_read_from_every_core_module() {
        let component = component_with_memory(600);
        assert_eq!(largest_initial_memory(&component), Some(600 << 16));
        assert_eq!(largest_initial_memory(b"\0asm\x0d\0\x01\0"), None);
        // The limit is obeyed at exactly the initial size, exceeded one byte below it.
        assert_eq!(check_initial_memory(&component, 600 << 16), Ok(()));
        let refused = check_initial_memory(&component, (600 << 16) - 1).expect_err("one byte too small");
        assert_eq!(refused, MemoryExceedsLimit { initial_bytes: 600 << 16, limit_bytes: (600 << 16) - 1 });
        let message = refused.to_string();
        assert!(message.contains("39321600 bytes (37 MiB)"), "{message}");
        assert!(message.contains("limit of 39321599 bytes (37 MiB)"), "{message}");
    }

    #[test]
    fn imports_map_to_capabilities() {
        assert_eq!(capability_of("bottega:shop/catalog@1.0.0"), Some(Capability::Catalog));
        assert_eq!(capability_of("bottega:shop/kv@1.0.0"), Some(Capability::Kv));
        assert_eq!(capability_of("bottega:shop/orders@1.1.0"), Some(Capability::Orders));
        assert_eq!(capability_of("bottega:shop/types@1.0.0"), None);
        assert_eq!(capability_of("wasi:cli/environment@0.2.6"), None);
    }

    #[test]
    fn a_plugin_imports_only_what_its_own_contract_version_has() {
        use super::contract::{CURRENT, PREVIOUS};
        assert_eq!(check_contract_import(PREVIOUS, "bottega:shop/cart@1.0.0"), Ok(()));
        assert_eq!(check_contract_import(CURRENT, "bottega:shop/orders@1.1.0"), Ok(()));
        assert_eq!(check_contract_import(PREVIOUS, "wasi:io/streams@0.2.6"), Ok(()));
        let too_new = check_contract_import(PREVIOUS, "bottega:shop/orders@1.0.0").expect_err("1.0.0 has no orders");
        assert_eq!(
            too_new.to_string(),
            "the component imports `bottega:shop/orders@1.0.0`, which bottega:shop@1.0.0 does not have; \
             build it against one WIT version (wit/shop.wit is bottega:shop@1.1.0)"
        );
        let mixed = check_contract_import(PREVIOUS, "bottega:shop/cart@1.1.0");
        assert!(matches!(mixed, Err(UploadError::NotInVersion { .. })), "{mixed:?}");
    }

    #[test]
    fn an_empty_component_is_told_which_world_to_build_for() {
        // The smallest valid component: magic, component version and layer.
        let empty_component = b"\0asm\x0d\0\x01\0";
        let error = inspect(empty_component, SMALL, &[]).expect_err("exports nothing");
        let message = error.to_string();
        assert!(message.contains("exports nothing from bottega:shop"), "{message}");
        assert!(message.contains("this host supports bottega:shop@1.1.0, bottega:shop@1.0.0"), "{message}");
    }
}
