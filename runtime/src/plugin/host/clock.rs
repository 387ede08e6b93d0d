//! `bottega:shop/clock`: wall-clock time in milliseconds. Its view reaches
//! nothing of the call's state. The same grant decides what WASI's clocks
//! tell (`state::WasiClocks`): without it a plugin reads no time at all.

use wasmtime::component::{HasData, Linker};

use crate::plugin::bindings::bottega::shop;
use crate::plugin::bindings::bottega::shop::clock::Host;
use crate::plugin::state::PluginState;

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::clock::add_to_linker::<PluginState, WallClock>(linker, view)
}

/// The clock's view: no state at all.
struct WallClock;

impl HasData for WallClock {
    type Data<'a> = WallClock;
}

fn view(_: &mut PluginState) -> WallClock {
    WallClock
}

impl Host for WallClock {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(u64::try_from(crate::ids::now_ms()).unwrap_or(0))
    }
}
