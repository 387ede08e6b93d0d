//! The resource limiter that enforces a business's memory cap
//! ([`PluginLimits::memory_bytes`], set in [`crate::grants`]) inside wasmtime.

use crate::grants::PluginLimits;

/// A plugin asked for more linear memory than its business allows.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {desired})")]
pub struct MemoryLimitExceeded {
    pub limit: usize,
    pub desired: usize,
}

/// Enforces [`PluginLimits::memory_bytes`] on every memory of an instance, and
/// a bound on table growth. Growth past the limit traps with
/// [`MemoryLimitExceeded`], so the failure is recorded as what it is.
#[derive(Debug)]
pub struct PluginLimiter {
    memory_bytes: usize,
    table_elements: usize,
    /// The largest memory granted so far (for the developer's loop).
    peak_memory_bytes: usize,
}

impl PluginLimiter {
    pub fn new(limits: &PluginLimits) -> PluginLimiter {
        PluginLimiter {
            memory_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            table_elements: 1_000_000,
            peak_memory_bytes: 0,
        }
    }

    /// A limiter for an instance that already had `peak` bytes of memory.
    pub fn with_peak(mut self, peak: usize) -> PluginLimiter {
        self.peak_memory_bytes = peak;
        self
    }

    /// The largest linear memory the instance has had, in bytes.
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes
    }
}

impl wasmtime::ResourceLimiter for PluginLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(MemoryLimitExceeded { limit: self.memory_bytes, desired }.into());
        }
        self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }
}
