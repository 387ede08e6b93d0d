//! Bottega: a runtime that hosts many chat shops, each driven by a WebAssembly plugin.
//!
//! The host owns everything that must be trusted (customers, carts, orders,
//! transports, privacy); a business's plugin decides its bot's replies and its
//! catalog behaviour through the contract in `wit/`. Start at [`app::App`], which
//! wires the pieces: [`store`] (SQLite or PostgreSQL), [`plugin`] (the wasmtime
//! host), [`chat`] (one inbound message, end to end) and [`api`] (HTTP).

pub mod api;
pub mod app;
pub mod automations;
pub mod billing;
pub mod chat;
pub mod commerce;
pub mod config;
pub mod custody;
pub mod devloop;
pub mod domain;
pub mod egress;
pub mod failpoint;
pub mod grants;
pub mod ids;
pub mod money;
pub mod plugin;
pub mod privacy;
#[cfg(test)]
mod proptests;
pub mod seed;
pub mod serve;
pub mod signing;
pub mod staff;
pub mod store;
pub mod supervisor;
#[cfg(test)]
mod tidy;
pub mod transport;
pub mod webhooks;

pub use app::App;
pub use config::Config;
