//! Per plugin, whether each message gets a fresh instance or reuses one.
//!
//! A fresh instance for every message is the strongest isolation between
//! calls: nothing one customer's message left in memory can reach the next.
//! It is cheap for compiled plugins (Rust, C: microseconds) and costly for
//! ones that carry an interpreter (Python, JavaScript: most of a message's
//! time). What counts is the whole startup, not instantiation alone: a
//! JavaScript component instantiates in ~10 µs from its snapshot, then spends
//! most of a millisecond in its first call. So, once, on the node that
//! compiles a plugin, the host times a fresh instance's first call against a
//! second call on it (`price-cart` of an empty cart, the contract's cheapest
//! export); every node goes by that figure. A plugin whose startup costs at
//! most the operator's `reuse_instances_above` gets a fresh instance per
//! message; above it, an instance answers up to the business's
//! `max_instance_uses` messages (and is still discarded after any failure or
//! output). The measurements behind the default are in
//! `cargo bench --bench languages`.

use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;
use wasmtime::Store;

use super::bindings::{Cart, ConversationContext, Money, ShopPre};
use super::invoke::PluginSession;
use super::state::{CallScope, PluginState};

/// Fresh instances timed; the cheapest counts, as the others include
/// whatever else the machine was doing.
const SAMPLES: usize = 5;

/// The default of `reuse_instances_above`: between compiled plugins (≈10 µs
/// here) and interpreted ones (≈0.7–1.3 ms).
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
    /// A zero `reuse_above` is the operator leaving every plugin to that setting.
    pub fn for_cost(cost: Option<Duration>, reuse_above: Duration) -> InstancePolicy {
        match cost {
            Some(cost) if !reuse_above.is_zero() && cost <= reuse_above => InstancePolicy::FreshPerMessage,
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

/// What a fresh instance of `pre` costs over a reused one: instantiating it
/// and a first call, less a second call on the same instance; the cheapest of
/// a few tries, in throwaway stores under `scope` (a scope of no business: the
/// calls read nothing and cannot write). `None` if an instance could not be
/// made or a call failed (the pool is full, or the plugin traps).
pub(super) async fn measure(
    engine: &wasmtime::Engine,
    pre: &ShopPre<PluginState>,
    scope: CallScope,
    count_instructions: bool,
) -> Option<Duration> {
    let context = ConversationContext {
        customer_id: String::new(),
        conversation_id: String::new(),
        locale: "en".to_string(),
        agent_active: false,
    };
    let empty = Cart { lines: Vec::new(), subtotal: Money { amount_minor: 0, currency: scope.currency.clone() } };
    let mut cheapest: Option<Duration> = None;
    for _ in 0..SAMPLES {
        let mut store = Store::new(engine, PluginState::new(scope.clone()));
        PluginSession::prepare_store(&mut store, count_instructions);
        let started = Instant::now();
        let shop = pre.instantiate_async(&mut store).await.ok()?;
        shop.bottega_shop_storefront().call_price_cart(&mut store, &context, &empty).await.ok()?;
        let fresh = started.elapsed();
        let started = Instant::now();
        shop.bottega_shop_storefront().call_price_cart(&mut store, &context, &empty).await.ok()?;
        let startup = fresh.saturating_sub(started.elapsed());
        cheapest = Some(cheapest.map_or(startup, |c| c.min(startup)));
    }
    cheapest
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
        assert_eq!(InstancePolicy::for_cost(Some(Duration::ZERO), Duration::ZERO), InstancePolicy::Reused);
    }
}
