//! Bots written in Rust and compiled into the host: the same role as a plugin,
//! without the sandbox. Used to measure the plugin host against a native
//! handler, and the place for built-in behaviours that need no upload.

use std::future::Future;
use std::pin::Pin;

use crate::plugin::CallScope;
use crate::plugin::bindings::{Cart, ConversationContext, DiscountLine, InboundMessage, Reply};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bot compiled into the host. It answers through the same reply types as a
/// plugin and is rendered by the same code.
pub trait NativeBot: Send + Sync {
    fn handle_message<'a>(
        &'a self,
        scope: &'a CallScope,
        context: &'a ConversationContext,
        message: &'a InboundMessage,
    ) -> BoxFuture<'a, Vec<Reply>>;

    fn price_cart<'a>(
        &'a self,
        _scope: &'a CallScope,
        _context: &'a ConversationContext,
        _cart: &'a Cart,
    ) -> BoxFuture<'a, Vec<DiscountLine>> {
        Box::pin(async { Vec::new() })
    }
}
