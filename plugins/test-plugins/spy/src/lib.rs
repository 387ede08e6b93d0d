//! Test plugin: reports everything it receives and everything it tries to
//! reach, so tests can assert what a plugin can and cannot see.
//!
//! Any message: one text reply with a line per fact, `key=value` (among them
//! what WASI's wall and monotonic clocks tell).
//! "probe PRODUCT KEY": also looks up another business's product id and KV key.
//! "nul": also calls every host function that takes a text with one holding
//! a NUL (which nothing stored can hold) and reports what each answered.
//! "nul-set": stores a KV key holding a NUL (the host traps the call).

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::types::*;
use bottega::shop::{cart, catalog, kv, orders};

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
        if let InboundMessage::Text(text) = &message {
            if text == "nul" {
                let nul = "apple\0";
                facts.push(format!("nul_get_product={}", catalog::get_product(nul).is_some()));
                facts.push(format!("nul_search={}", catalog::search_products(nul, 10).len()));
                facts.push(format!("nul_section={}", catalog::list_products(Some(nul), 0, 10).len()));
                facts.push(format!("nul_kv_get={}", kv::get(nul).is_some()));
                facts.push(format!("nul_kv_keys={}", kv::list_keys(nul).len()));
                kv::delete(nul);
                let unknown = |e: Option<cart::CartError>| matches!(e, Some(cart::CartError::UnknownProduct));
                facts.push(format!("nul_cart_add_unknown={}", unknown(cart::add_item(nul, 1).err())));
                facts.push(format!("nul_cart_set_unknown={}", unknown(cart::set_quantity(nul, 2).err())));
                facts.push(format!("nul_cart_remove={}", cart::remove_item(nul).lines.len()));
                facts.push(format!("nul_order={}", orders::get(nul).is_some()));
            } else if text == "nul-set" {
                let stored = kv::set("key\0", b"value");
                facts.push(format!("nul_kv_set={}", stored.is_ok()));
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
