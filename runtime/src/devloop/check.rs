//! `bottega plugin check`: an upload's checks, without a server.

use std::time::{Duration, Instant};

use crate::config::PluginHostConfig;
use crate::plugin::{Capability, LanguageClass, PluginHost, UploadError};

/// What a component is, as the host sees it.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// e.g. `bottega:shop@1.1.0`
    pub world: String,
    /// The capabilities it imports (a business must be granted each of them).
    pub capabilities: Vec<Capability>,
    pub size_bytes: usize,
    /// Whether it carries an interpreter, which decides its size limit.
    pub language_class: LanguageClass,
    /// The limit for its class.
    pub max_upload_bytes: usize,
    pub sha256: String,
    /// How long the host took to compile it (a fresh compile, no cache).
    pub compile_time: Duration,
}

/// Validates and compiles `wasm` as an upload by a business granted every
/// capability would be, under `config`'s limits.
pub async fn check(wasm: &[u8], config: &PluginHostConfig) -> Result<CheckReport, UploadError> {
    let scratch = tempfile::tempdir().map_err(|e| UploadError::Compile(format!("no scratch directory: {e}")))?;
    let host = PluginHost::new(config.clone(), scratch.path()).map_err(|e| UploadError::Compile(format!("{e:#}")))?;
    let started = Instant::now();
    let prepared = host.prepare_upload(wasm, &Capability::ALL).await?;
    Ok(CheckReport {
        world: prepared.inspection.world.clone(),
        capabilities: prepared.inspection.capabilities.clone(),
        size_bytes: wasm.len(),
        language_class: prepared.inspection.language_class,
        max_upload_bytes: config.upload_limits.of(prepared.inspection.language_class),
        sha256: prepared.inspection.sha256.clone(),
        compile_time: started.elapsed(),
    })
}
