//! Per plugin, whether each message gets a fresh instance or reuses one.
//!
//! A fresh instance for every message is the strongest isolation between
//! calls: nothing one customer's message left in memory can reach the next.
//! It is cheap for compiled plugins (Rust, C: tens of microseconds) and costly
//! for ones that carry an interpreter (Python, JavaScript: a millisecond or
//! more, most of a message's time). So the host measures how long a plugin
//! takes to instantiate when a node loads it, and gives it a fresh instance
//! per message when that is at most the operator's `reuse_instances_above`;
//! above it, an instance answers up to the business's `max_instance_uses`
//! messages (and is still discarded after any failure or output). The
//! measurements behind the default are in `cargo bench --bench languages`.

use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;
use wasmtime::Store;

use super::bindings::ShopPre;
use super::invoke::PluginSession;
use super::state::{CallScope, PluginState};

/// Instantiations timed when a plugin is loaded; the fastest counts, as the
/// others include whatever else the machine was doing.
const SAMPLES: usize = 5;

/// The default of `reuse_instances_above`: between compiled plugins (≈20 µs
/// here) and interpreted ones (≈0.5–1.3 ms).
pub const DEFAULT_REUSE_ABOVE: Duration = Duration::from_micros(250);

/// How a plugin's instances are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstancePolicy {
    /// A new instance for every message: instantiating is cheap.
    FreshPerMessage,
    /// An instance answers up to the business's `max_instance_uses` messages.
    Reused,
}

impl InstancePolicy {
    /// The policy for a plugin that instantiates in `cost` (`None`: not
    /// measured, so the business's `max_instance_uses` applies as set).
    pub fn for_cost(cost: Option<Duration>, reuse_above: Duration) -> InstancePolicy {
        match cost {
            Some(cost) if cost <= reuse_above => InstancePolicy::FreshPerMessage,
            _ => InstancePolicy::Reused,
        }
    }

    /// Messages one instance may answer under this policy.
    pub fn max_uses(self, business_max_instance_uses: u32) -> u32 {
        match self {
            InstancePolicy::FreshPerMessage => 1,
            InstancePolicy::Reused => business_max_instance_uses,
        }
    }
}

/// The fastest of a few instantiations of `pre` in throwaway stores under
/// `scope`'s limits, or `None` if one failed (the pool is full, say).
pub(super) async fn measure(
    engine: &wasmtime::Engine,
    pre: &ShopPre<PluginState>,
    scope: CallScope,
) -> Option<Duration> {
    let mut fastest: Option<Duration> = None;
    for _ in 0..SAMPLES {
        let mut store = Store::new(engine, PluginState::new(scope.clone()));
        PluginSession::prepare_store(&mut store);
        let started = Instant::now();
        pre.instantiate_async(&mut store).await.ok()?;
        let took = started.elapsed();
        fastest = Some(fastest.map_or(took, |f| f.min(took)));
    }
    fastest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_plugins_get_a_fresh_instance_per_message_and_costly_ones_reuse() {
        let above = DEFAULT_REUSE_ABOVE;
        let rust = InstancePolicy::for_cost(Some(Duration::from_micros(20)), above);
        let python = InstancePolicy::for_cost(Some(Duration::from_micros(1300)), above);
        assert_eq!((rust, rust.max_uses(100)), (InstancePolicy::FreshPerMessage, 1));
        assert_eq!((python, python.max_uses(100)), (InstancePolicy::Reused, 100));
        // Unmeasured: the business's setting, as before.
        assert_eq!(InstancePolicy::for_cost(None, above).max_uses(7), 7);
        // An operator who sets 0 leaves every plugin to the business's setting.
        assert_eq!(InstancePolicy::for_cost(Some(Duration::from_micros(1)), Duration::ZERO), InstancePolicy::Reused);
    }
}
