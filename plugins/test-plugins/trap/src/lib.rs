//! Test plugin: crashes. "ok" gets an answer; anything else panics, which
//! traps the call.

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::types::*;

struct Crashing;

impl exports::bottega::shop::bot::Guest for Crashing {
    fn handle_message(_: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        match message {
            InboundMessage::Text(text) if text == "ok" => vec![Reply::Text("still standing".to_string())],
            _ => panic!("the shelf collapsed"),
        }
    }

    fn handle_event(_: ConversationContext, _: ShopEvent) -> Vec<Reply> {
        panic!("events crash too")
    }
}

impl exports::bottega::shop::storefront::Guest for Crashing {
    fn present_catalog(_: ConversationContext, _: CatalogQuery) -> Vec<Reply> {
        Vec::new()
    }
    fn price_cart(_: ConversationContext, _: Cart) -> Vec<DiscountLine> {
        Vec::new()
    }
}

export!(Crashing);
