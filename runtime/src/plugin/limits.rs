//! Per-call limits a business's plugin runs under, and the resource limiter
//! that enforces the memory cap inside wasmtime.
//!
//! Defaults are in the spirit of Shopify Functions: small, fixed budgets that
//! a well-behaved shop never notices. Each is configurable per business by the
//! operator, within the node's maxima.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PluginLimits {
    /// Wall-clock deadline of one call into the plugin, in milliseconds.
    pub deadline_ms: u64,
    /// Linear memory a plugin instance may use, in bytes.
    pub memory_bytes: u64,
    /// Size of what one call sends the plugin, in bytes.
    pub max_input_bytes: u64,
    /// Size of what one call returns (all reply text), in bytes.
    pub max_output_bytes: u64,
    /// Log bytes one call may write (`log` capability, stdout and stderr).
    pub max_log_bytes: u64,
    /// Log lines one call may write.
    pub max_log_lines: u32,
    pub kv_max_key_bytes: u32,
    pub kv_max_value_bytes: u32,
    /// Total key plus value bytes the business may keep.
    pub kv_quota_bytes: u64,
    /// Messages one plugin instance may answer before it is discarded; 1 means
    /// a fresh instance for every message. A reused instance only ever serves
    /// the same business, and is discarded after any failure or output.
    pub max_instance_uses: u32,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            deadline_ms: 200,
            memory_bytes: 32 << 20,
            max_input_bytes: 64 << 10,
            max_output_bytes: 64 << 10,
            max_log_bytes: 8 << 10,
            max_log_lines: 50,
            kv_max_key_bytes: 256,
            kv_max_value_bytes: 64 << 10,
            kv_quota_bytes: 1 << 20,
            max_instance_uses: 100,
        }
    }
}

impl PluginLimits {
    /// Checks the limits against the node's maxima, naming the first bad one.
    pub fn validate(&self, max_memory_bytes: u64) -> Result<(), String> {
        if !(1..=30_000).contains(&self.deadline_ms) {
            return Err(format!("deadline_ms must be between 1 and 30000, got {}", self.deadline_ms));
        }
        if self.memory_bytes < (1 << 20) || self.memory_bytes > max_memory_bytes {
            return Err(format!(
                "memory_bytes must be between 1048576 and this node's maximum {max_memory_bytes}, got {}",
                self.memory_bytes
            ));
        }
        if !(1..=10_000).contains(&self.max_instance_uses) {
            return Err(format!("max_instance_uses must be between 1 and 10000, got {}", self.max_instance_uses));
        }
        for (name, value) in [
            ("max_input_bytes", self.max_input_bytes),
            ("max_output_bytes", self.max_output_bytes),
            ("max_log_bytes", self.max_log_bytes),
            ("kv_quota_bytes", self.kv_quota_bytes),
        ] {
            if value > (1 << 30) {
                return Err(format!("{name} must be at most 1073741824, got {value}"));
            }
        }
        Ok(())
    }
}

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
