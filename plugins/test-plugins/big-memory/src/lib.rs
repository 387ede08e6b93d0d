//! Test plugin: starts with 48 MiB of linear memory, a large static array
//! (zero-filled, so it takes no room in the component, only in its initial
//! memory). Above its business's memory limit it could never start, and is
//! refused at upload; within it, it answers "carrying 48 MiB".

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use std::sync::atomic::{AtomicU8, Ordering};

use bottega::shop::types::*;

const BALLAST_BYTES: usize = 48 << 20;

/// Mutable, so it is placed in the module's memory rather than read-only data.
static BALLAST: [AtomicU8; BALLAST_BYTES] = [const { AtomicU8::new(0) }; BALLAST_BYTES];

struct Heavy;

impl exports::bottega::shop::bot::Guest for Heavy {
    fn handle_message(_: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        let text = match message {
            InboundMessage::Text(text) => text,
            _ => String::new(),
        };
        // Touched at an index known only at run time, so the array is kept.
        BALLAST[text.len() * 4096 % BALLAST_BYTES].fetch_add(1, Ordering::Relaxed);
        vec![Reply::Text(format!("carrying {} MiB", BALLAST_BYTES >> 20))]
    }

    fn handle_event(_: ConversationContext, _: ShopEvent) -> Vec<Reply> {
        Vec::new()
    }
}

impl exports::bottega::shop::storefront::Guest for Heavy {
    fn present_catalog(_: ConversationContext, _: CatalogQuery) -> Vec<Reply> {
        Vec::new()
    }
    fn price_cart(_: ConversationContext, _: Cart) -> Vec<DiscountLine> {
        Vec::new()
    }
}

export!(Heavy);
