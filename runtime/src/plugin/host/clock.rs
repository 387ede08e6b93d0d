//! `bottega:shop/clock`: wall-clock time in milliseconds.

use crate::plugin::bindings::bottega::shop::clock::Host;
use crate::plugin::state::PluginState;

impl Host for PluginState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(u64::try_from(crate::ids::now_ms()).unwrap_or(0))
    }
}
