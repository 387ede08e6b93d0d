//! Test plugin: burns CPU. "spin N" spins N milliseconds then answers;
//! anything else loops forever. The host must stop it at its deadline.

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::clock;
use bottega::shop::types::*;

struct Looping;

impl exports::bottega::shop::bot::Guest for Looping {
    fn handle_message(_: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        let text = match message {
            InboundMessage::Text(text) => text,
            _ => String::new(),
        };
        if let Some(ms) = text.strip_prefix("spin ").and_then(|n| n.parse::<u64>().ok()) {
            let until = clock::now_ms() + ms;
            let mut turns = 0u64;
            while clock::now_ms() < until {
                turns = std::hint::black_box(turns + 1);
            }
            return vec![Reply::Text(format!("spun {ms} ms"))];
        }
        let mut counter = 0u64;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }

    fn handle_event(_: ConversationContext, _: ShopEvent) -> Vec<Reply> {
        Vec::new()
    }
}

impl exports::bottega::shop::storefront::Guest for Looping {
    fn present_catalog(_: ConversationContext, _: CatalogQuery) -> Vec<Reply> {
        Vec::new()
    }
    fn price_cart(_: ConversationContext, _: Cart) -> Vec<DiscountLine> {
        Vec::new()
    }
}

export!(Looping);
