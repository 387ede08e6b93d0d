//! The host side of the contract's imports: one module per WIT interface, each
//! with its own view of the call's state (as wasmtime's WASI crates do with
//! [`HasData`]): the module's `add_to_linker` registers the interface with a
//! projection from [`PluginState`] to that view, and the generated `Host`
//! trait is implemented on the view alone. So each interface reaches only what
//! its view holds, within the [`CallScope`](super::state::CallScope) of the
//! call (this business, this conversation, this customer): the orders view
//! holds one customer's pseudonym and nothing else to name a customer by, the
//! log view only the call's log budget.
//!
//! Guest-visible failures (a product out of stock, a full store) are WIT
//! results; database failures are host faults and trap the call (they are not
//! counted against the plugin).

mod cart;
mod catalog;
mod clock;
mod kv;
mod log;
mod orders;

pub use cart::to_wit as cart_to_wit;

use wasmtime::component::{HasData, Linker};

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

/// A plugin wrote a key holding a NUL: its own fault (a trap counted against
/// it), the same on both databases.
#[derive(Debug, thiserror::Error)]
#[error("{function}: a key may not contain NUL")]
pub struct NulInKey {
    pub function: &'static str,
}

pub(crate) fn fault(function: &'static str) -> impl FnOnce(crate::store::StoreError) -> wasmtime::Error {
    move |source| wasmtime::Error::new(HostFault { function, source })
}

/// Links every Bottega interface into `linker`; which of them a plugin may use
/// is checked against its business's capabilities when it is loaded.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::types::add_to_linker::<PluginState, Types>(linker, types)?;
    catalog::add_to_linker(linker)?;
    cart::add_to_linker(linker)?;
    kv::add_to_linker(linker)?;
    log::add_to_linker(linker)?;
    clock::add_to_linker(linker)?;
    orders::add_to_linker(linker)?;
    Ok(())
}

/// `bottega:shop/types` has types only: its view reaches nothing.
struct Types;

impl HasData for Types {
    type Data<'a> = Types;
}

fn types(_: &mut PluginState) -> Types {
    Types
}

impl shop::types::Host for Types {}
