//! The compiled-plugin cache: components compiled ahead of time once, stored on
//! this node's disk under `<cache dir>/<engine hash>/<sha256>.cwasm` (the cache
//! dir is `<data dir>/compiled` unless the operator names another),
//! and loaded memory-mapped. The folders and files are owner-only
//! (`rwx------`, `rw-------`).
//!
//! Invariant: only this module writes the cache, and it only ever deserializes
//! files it wrote itself from uploads it validated. A compiled artifact supplied
//! by a user is never deserialized (that would run arbitrary machine code).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

impl CompiledCache {
    /// A cache in `cache_dir`, in a folder specific to this engine's settings so
    /// artifacts from another wasmtime version or configuration are never read.
    pub fn new(engine: &Engine, cache_dir: &Path) -> std::io::Result<CompiledCache> {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = cache_dir.join(format!("{:016x}", hasher.finish()));
        // Owner-only, as the rest of the data directory (`privacy::files`).
        crate::privacy::files::create_private_dir_all(cache_dir)?;
        crate::privacy::files::create_private_dir_all(&dir)?;
        Ok(CompiledCache { dir })
    }

    /// Whether this node compiled `sha256` before.
    pub fn contains(&self, sha256: &str) -> bool {
        self.path(sha256).exists()
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.cwasm"))
    }

    /// The compiled component for `wasm` (whose hash is `sha256`): loaded from
    /// disk when this node compiled it before, else compiled and stored.
    /// Blocking: call from a blocking thread.
    pub fn load_or_compile(&self, engine: &Engine, sha256: &str, wasm: &[u8]) -> wasmtime::Result<Component> {
        let path = self.path(sha256);
        if path.exists() {
            match self.load(engine, &path) {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "discarding unreadable compiled plugin: {e}")
                }
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        let temporary = self.dir.join(format!("{sha256}.{}.tmp", uuid::Uuid::new_v4().simple()));
        crate::privacy::files::write_private_file(&temporary, &compiled)?;
        std::fs::rename(&temporary, &path)?;
        self.load(engine, &path)
    }

    fn load(&self, engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
        #[allow(
            unsafe_code,
            reason = "the file was written by `load_or_compile` from a validated upload; see the module invariant"
        )]
        // SAFETY: `path` lies in this cache's folder, which only this module
        // writes, with artifacts `Engine::precompile_component` produced.
        unsafe {
            Component::deserialize_file(engine, path)
        }
    }
}
