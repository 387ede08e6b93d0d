//! The plugin developer's loop (`bottega plugin …`): what production will
//! enforce, told before upload.
//!
//! - [`check`](fn@check): validates a component against the worlds this host serves,
//!   lists the capabilities it imports, its size against the upload limit, and
//!   compiles it as an upload would.
//! - [`LocalShop`]: a whole runtime in a temporary directory (embedded SQLite,
//!   no server), one business with a catalog and the plugin, for a local
//!   conversation. Every turn goes through the same code as production, under
//!   the same default limits, and reports what the plugin used against them.
//!   Its [`Sandbox`] says what shop and host it is: the developer's, or a copy
//!   of a real shop on its node (the console's replay).
//! - [`new`]: a starter shop in Rust, Python, JavaScript or C that builds with
//!   one command.
//! - [`recording`]: conversations recorded (exported by the host from a real
//!   conversation) and replayed against a plugin by `plugin test`, and by the
//!   console's bot page against a version before it is activated.
//! - [`show`]: replies as text, the way a terminal can show what a customer sees.
//!
//! - [`cli`]: the `bottega plugin …` subcommands and what they print.
//!
//! Uploading to a running runtime is the HTTP API (`POST /v1/plugins`); the
//! command line's `plugin upload` is a thin, typed client of it.

mod check;
pub mod cli;
mod local;
pub mod new;
pub mod recording;
pub mod show;

pub use check::{CheckReport, check};
pub use local::{LocalShop, LocalShopError, Sandbox, parse_input};
