//! Test plugin: reports everything it receives and everything it tries to
//! reach, so tests can assert what a plugin can and cannot see.
//!
//! Any message: one text reply with a line per fact, `key=value` (among them
//! what WASI's wall and monotonic clocks tell).
//! "probe PRODUCT KEY": also looks up another business's product id and KV key.

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::types::*;
use bottega::shop::{catalog, kv};

struct Spy;

impl exports::bottega::shop::bot::Guest for Spy {
    fn handle_message(context: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        let mut facts = vec![
            format!("customer_id={}", context.customer_id),
            format!("conversation_id={}", context.conversation_id),
            format!("locale={}", context.locale),
            format!("agent_active={}", context.agent_active),
            format!("message={message:?}"),
            format!("env_vars={}", std::env::vars().count()),
            format!("args={}", std::env::args().count()),
            format!("fs_root={}", std::fs::read_dir("/").is_ok()),
            format!("fs_cwd={}", std::fs::read_dir(".").is_ok()),
            format!("net_connect={}", std::net::TcpStream::connect("127.0.0.1:5432").is_ok()),
        ];
        // What WASI's clocks tell: the time, or nothing without `clock`.
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let first = std::time::Instant::now();
        let second = std::time::Instant::now();
        facts.push(format!("wall_clock_s={wall}"));
        facts.push(format!("monotonic_step_ns={}", second.duration_since(first).as_nanos()));
        if let InboundMessage::Text(text) = &message
            && let Some(rest) = text.strip_prefix("probe ")
        {
            {
                let mut parts = rest.split_whitespace();
                let product = parts.next().unwrap_or_default();
                let key = parts.next().unwrap_or_default();
                facts.push(format!("other_product={}", catalog::get_product(product).is_some()));
                facts.push(format!("other_search={}", catalog::search_products(product, 10).len()));
                facts.push(format!("other_kv={}", kv::get(key).is_some()));
                facts.push(format!("own_catalog={}", catalog::list_products(None, 0, 100).len()));
            }
        }
        vec![Reply::Text(facts.join("\n"))]
    }

    fn handle_event(context: ConversationContext, event: ShopEvent) -> Vec<Reply> {
        vec![Reply::Text(format!("customer_id={}\nevent={event:?}", context.customer_id))]
    }
}

impl exports::bottega::shop::storefront::Guest for Spy {
    fn present_catalog(context: ConversationContext, query: CatalogQuery) -> Vec<Reply> {
        vec![Reply::Text(format!("customer_id={}\nquery={query:?}", context.customer_id))]
    }
    fn price_cart(_: ConversationContext, _: Cart) -> Vec<DiscountLine> {
        Vec::new()
    }
}

export!(Spy);
