//! The host side of the contract's imports: one module per WIT interface. Each
//! reaches only the [`CallScope`](super::state::CallScope) of the call: this
//! business, this conversation. Guest-visible failures (a product out of
//! stock, a full store) are WIT results; database failures are host faults and
//! trap the call (they are not counted against the plugin).

mod cart;
mod catalog;
mod clock;
mod kv;
mod log;
mod orders;

pub use cart::to_wit as cart_to_wit;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::bottega::shop;
use super::state::PluginState;

/// A host failure (e.g. the database) during a plugin's host call. It traps the
/// call; the chat layer tells it apart from the plugin's own faults.
#[derive(Debug, thiserror::Error)]
#[error("host failure in {function}: {source}")]
pub struct HostFault {
    pub function: &'static str,
    #[source]
    pub source: crate::store::StoreError,
}

pub(crate) fn fault(function: &'static str) -> impl FnOnce(crate::store::StoreError) -> wasmtime::Error {
    move |source| wasmtime::Error::new(HostFault { function, source })
}

/// Links every Bottega interface into `linker`; which of them a plugin may use
/// is checked against its business's capabilities when it is loaded.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::types::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    shop::catalog::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    shop::cart::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    shop::kv::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    shop::log::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    shop::clock::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    shop::orders::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    Ok(())
}

impl shop::types::Host for PluginState {}
