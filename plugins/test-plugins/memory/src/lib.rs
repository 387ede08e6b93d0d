//! Test plugin: eats memory. "alloc N" allocates and touches N MiB, then
//! answers; anything else allocates until it is stopped.

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::types::*;

struct Hungry;

impl exports::bottega::shop::bot::Guest for Hungry {
    fn handle_message(_: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        let text = match message {
            InboundMessage::Text(text) => text,
            _ => String::new(),
        };
        if let Some(mib) = text.strip_prefix("alloc ").and_then(|n| n.parse::<usize>().ok()) {
            let block = vec![7u8; mib << 20];
            let sum: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
            return vec![Reply::Text(format!("allocated {mib} MiB ({sum})"))];
        }
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }

    fn handle_event(_: ConversationContext, _: ShopEvent) -> Vec<Reply> {
        Vec::new()
    }
}

impl exports::bottega::shop::storefront::Guest for Hungry {
    fn present_catalog(_: ConversationContext, _: CatalogQuery) -> Vec<Reply> {
        Vec::new()
    }
    fn price_cart(_: ConversationContext, _: Cart) -> Vec<DiscountLine> {
        Vec::new()
    }
}

export!(Hungry);
