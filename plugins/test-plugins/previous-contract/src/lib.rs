//! Test plugin: a small shop built against the previous contract version,
//! `bottega:shop@1.0.0`, from the frozen WIT in `wit/versions/1.0.0/`. The
//! host must keep serving it, every 1.0.0 capability included, after the
//! contract moved on.
//!
//! `hi` greets (and counts visits in `kv`), `add NAME` adds the first product
//! whose name matches, `cart` shows the cart, `checkout` checks out; anything
//! else is a catalog search. Every cart gets 1 (minor unit) off per line.

wit_bindgen::generate!({ path: "../../../wit/versions/1.0.0", world: "bottega:shop/shop@1.0.0" });

use bottega::shop::types::{
    Cart, CatalogQuery, ConversationContext, DiscountLine, InboundMessage, ProductListReply, Reply, ShopEvent,
};
use bottega::shop::{cart, catalog, clock, kv, log};
use exports::bottega::shop::{bot, storefront};

struct OldFaithful;

impl bot::Guest for OldFaithful {
    fn handle_message(context: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        let text = match message {
            InboundMessage::Text(text) => text.trim().to_lowercase(),
            InboundMessage::Choice(choice) => choice.id,
            InboundMessage::ProductTap(id) => return vec![Reply::Product(id)],
            InboundMessage::Cart(_) => return vec![Reply::CartSummary],
        };
        if text == "hi" {
            return greet(&context);
        }
        if text == "cart" {
            return vec![Reply::CartSummary];
        }
        if text == "checkout" {
            return vec![Reply::Checkout];
        }
        if let Some(name) = text.strip_prefix("add ") {
            return add(name);
        }
        search(&text)
    }

    fn handle_event(_context: ConversationContext, event: ShopEvent) -> Vec<Reply> {
        match event {
            ShopEvent::OrderPaid(order) => vec![Reply::Text(format!("1.0.0 says thanks for {}", order.order_id))],
            _ => Vec::new(),
        }
    }
}

impl storefront::Guest for OldFaithful {
    fn present_catalog(_context: ConversationContext, query: CatalogQuery) -> Vec<Reply> {
        search(query.text.as_deref().unwrap_or(""))
    }

    fn price_cart(_context: ConversationContext, cart: Cart) -> Vec<DiscountLine> {
        cart.lines
            .into_iter()
            .map(|line| DiscountLine {
                label: "1.0.0 loyalty".to_string(),
                amount_minor: 1,
                product_ids: vec![line.product_id],
            })
            .collect()
    }
}

export!(OldFaithful);

fn greet(context: &ConversationContext) -> Vec<Reply> {
    let key = format!("visits:{}", context.customer_id);
    let visits = kv::get(&key).and_then(|v| v.try_into().ok()).map(u32::from_le_bytes).unwrap_or(0) + 1;
    let _ = kv::set(&key, &visits.to_le_bytes());
    log::log(log::Level::Info, "greeted", &[("at".to_string(), clock::now_ms().to_string())]);
    vec![Reply::Text(format!("Hello from a 1.0.0 plugin! Visit {visits}."))]
}

fn search(text: &str) -> Vec<Reply> {
    let found = catalog::search_products(text, 10);
    if found.is_empty() {
        return vec![Reply::Text(format!("Nothing matches \"{text}\"."))];
    }
    vec![Reply::ProductList(ProductListReply {
        header: "Found".to_string(),
        body: format!("{} products", found.len()),
        product_ids: found.into_iter().map(|p| p.id).collect(),
    })]
}

fn add(name: &str) -> Vec<Reply> {
    let Some(product) = catalog::search_products(name, 1).into_iter().next() else {
        return vec![Reply::Text(format!("No product called \"{name}\"."))];
    };
    match cart::add_item(&product.id, 1) {
        Ok(_) => vec![Reply::Text(format!("Added {}.", product.name)), Reply::CartSummary],
        Err(error) => vec![Reply::Text(format!("Could not add {}: {error:?}", product.name))],
    }
}
