//! A starter Bottega shop: greets, searches the catalog, shows the basket.

wit_bindgen::generate!({ path: "wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::types::{
    ButtonsReply, Cart, CatalogQuery, ConversationContext, DiscountLine, InboundMessage, ProductListReply, Reply,
    ReplyButton, ShopEvent,
};
use bottega::shop::{cart, catalog};
use exports::bottega::shop::{bot, storefront};

struct Shop;

impl bot::Guest for Shop {
    fn handle_message(context: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        match message {
            InboundMessage::Choice(choice) if choice.id.starts_with("add:") => match cart::add_item(&choice.id[4..], 1) {
                Ok(_) => vec![Reply::CartSummary],
                Err(_) => vec![Reply::Text("Sorry, that one is sold out.".into())],
            },
            InboundMessage::ProductTap(id) => vec![
                Reply::Product(id.clone()),
                Reply::Buttons(ButtonsReply {
                    body: "Add it to your basket?".into(),
                    buttons: vec![ReplyButton { id: format!("add:{id}"), title: "Add".into() }],
                }),
            ],
            InboundMessage::Text(text) if !["hi", "hello"].contains(&text.trim().to_lowercase().as_str()) => {
                <Shop as storefront::Guest>::present_catalog(context, CatalogQuery { text: Some(text), section: None })
            }
            _ => vec![Reply::Text("Welcome! Tell me what you are looking for.".into())],
        }
    }

    fn handle_event(_context: ConversationContext, _event: ShopEvent) -> Vec<Reply> {
        vec![Reply::Text("Thank you for your order!".into())]
    }
}

impl storefront::Guest for Shop {
    fn present_catalog(_context: ConversationContext, query: CatalogQuery) -> Vec<Reply> {
        let products = catalog::search_products(query.text.as_deref().unwrap_or(""), 10);
        let ids: Vec<String> = products.into_iter().filter(|p| p.available).map(|p| p.id).collect();
        if ids.is_empty() {
            return vec![Reply::Text("Nothing found, sorry.".into())];
        }
        vec![Reply::ProductList(ProductListReply { header: "Found".into(), body: "Tap one:".into(), product_ids: ids })]
    }

    fn price_cart(_context: ConversationContext, _cart: Cart) -> Vec<DiscountLine> {
        Vec::new()
    }
}

export!(Shop);
