//! What a business grants its plugins: the capabilities (host interfaces) they
//! may import, and the per-call limits they run under.
//!
//! A leaf: it imports nothing from the rest of the crate, so `store/` can keep
//! a business's grants without knowing the plugin host, and the host can read
//! them without an import circle. Deny by default: [`first_ungranted`] is the
//! one check behind an upload, an activation and a load.
//!
//! Limit defaults are in the spirit of Shopify Functions: small, fixed budgets
//! that a well-behaved shop never notices. Each is configurable per business by
//! the operator, within the node's maxima.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read the business's own catalog.
    Catalog,
    /// Change the current conversation's cart.
    Cart,
    /// The per-business key-value store.
    Kv,
    /// Structured logging the business can read.
    Log,
    /// The time.
    Clock,
    /// Read the current customer's orders with the business (contract 1.1.0).
    Orders,
}

/// The first of `imported` that is not in `granted`, if any: a plugin may use
/// only what its business was granted. Upload, activation and load each ask
/// this, and each names the capability in its own error.
pub fn first_ungranted(imported: &[Capability], granted: &[Capability]) -> Option<Capability> {
    imported.iter().copied().find(|c| !granted.contains(c))
}

impl Capability {
    pub const ALL: [Capability; 6] =
        [Capability::Catalog, Capability::Cart, Capability::Kv, Capability::Log, Capability::Clock, Capability::Orders];

    /// The capability's name, which is also its WIT interface's name
    /// (`bottega:shop/<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Catalog => "catalog",
            Capability::Cart => "cart",
            Capability::Kv => "kv",
            Capability::Log => "log",
            Capability::Clock => "clock",
            Capability::Orders => "orders",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown capability `{s}` (expected one of catalog, cart, kv, log, clock, orders)"))
    }
}

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

/// Limits as stored (JSON on the business's row), for sqlx's `try_from`.
impl TryFrom<String> for PluginLimits {
    type Error = String;

    fn try_from(json: String) -> Result<PluginLimits, String> {
        serde_json::from_str(&json).map_err(|e| format!("business limits: {e}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_parse_by_name() {
        assert_eq!("clock".parse::<Capability>(), Ok(Capability::Clock));
        assert_eq!("orders".parse::<Capability>(), Ok(Capability::Orders));
        assert!("network".parse::<Capability>().is_err());
        for capability in Capability::ALL {
            assert_eq!(capability.as_str().parse::<Capability>(), Ok(capability));
        }
    }

    #[test]
    fn only_granted_capabilities_pass() {
        let granted = [Capability::Catalog, Capability::Cart];
        assert_eq!(first_ungranted(&[Capability::Cart, Capability::Catalog], &granted), None);
        assert_eq!(first_ungranted(&[], &[]), None);
        assert_eq!(
            first_ungranted(&[Capability::Cart, Capability::Kv, Capability::Log], &granted),
            Some(Capability::Kv)
        );
        assert_eq!(first_ungranted(&[Capability::Orders], &[]), Some(Capability::Orders));
    }
}
