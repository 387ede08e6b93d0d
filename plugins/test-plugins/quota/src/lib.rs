//! Test plugin: pushes against the per-call and per-business quotas.
//!
//! "emit N": a text reply of N bytes. "kv KEY SIZE": stores SIZE bytes under KEY
//! and answers "stored" or the error. "log N": writes N log lines.
//! "discount AMOUNT": the next cart summary gets a discount of AMOUNT minor units.
//! "count": how many messages this instance has answered (shows instance reuse).
//! "crash": panics. "print N": prints N bytes to stdout.
//! "show ID...": a product card for each ID (one card for one ID, else a list).
//! "silent": answers with no replies at all.
//! "log-and-print N M": N log lines, then M bytes printed; "print-and-log M N":
//! the other way round (both draw on the call's one output budget).
//! "print-and-crash TEXT": prints TEXT to stderr (`\n` in it becomes a
//! newline), then panics.

wit_bindgen::generate!({ path: "../../../wit", world: "bottega:shop/shop@1.1.0" });

use bottega::shop::types::*;
use bottega::shop::{cart, kv, log};

struct Quota;

static ANSWERED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl exports::bottega::shop::bot::Guest for Quota {
    fn handle_message(_: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        let text = match message {
            InboundMessage::Text(text) => text,
            _ => return vec![Reply::CartSummary],
        };
        let answered = ANSWERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(said) = text.strip_prefix("print-and-crash ") {
            eprint!("{}", said.replace("\\n", "\n"));
            panic!("crashing after printing");
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["emit", n] => vec![Reply::Text("x".repeat(n.parse().unwrap_or(0)))],
            ["kv", key, size] => {
                let value = vec![b'v'; size.parse().unwrap_or(0)];
                match kv::set(key, &value) {
                    Ok(()) => vec![Reply::Text("stored".to_string())],
                    Err(kv::KvError::KeyTooLong(n)) => vec![Reply::Text(format!("refused: key-too-long {n}"))],
                    Err(kv::KvError::ValueTooLarge(n)) => vec![Reply::Text(format!("refused: value-too-large {n}"))],
                    Err(kv::KvError::QuotaExceeded(n)) => vec![Reply::Text(format!("refused: quota-exceeded {n}"))],
                }
            }
            ["log", n] => {
                log_lines(n.parse().unwrap_or(0));
                vec![Reply::Text("logged".to_string())]
            }
            ["log-and-print", lines, bytes] => {
                log_lines(lines.parse().unwrap_or(0));
                print_bytes(bytes.parse().unwrap_or(0));
                vec![Reply::Text("logged and printed".to_string())]
            }
            ["print-and-log", bytes, lines] => {
                print_bytes(bytes.parse().unwrap_or(0));
                log_lines(lines.parse().unwrap_or(0));
                vec![Reply::Text("printed and logged".to_string())]
            }
            ["discount", amount] => {
                kv::set("discount", amount.as_bytes()).ok();
                vec![Reply::CartSummary]
            }
            ["add", product, quantity] => match cart::add_item(product, quantity.parse().unwrap_or(0)) {
                Ok(cart) => vec![Reply::Text(format!("lines={}", cart.lines.len()))],
                Err(error) => vec![Reply::Text(format!("refused: {}", error.name()))],
            },
            ["buttons", n] => vec![Reply::Buttons(ButtonsReply {
                body: "pick".to_string(),
                buttons: (0..n.parse::<u32>().unwrap_or(0))
                    .map(|i| ReplyButton { id: format!("b{i}"), title: format!("Button {i}") })
                    .collect(),
            })],
            ["print", n] => {
                print!("{}", "p".repeat(n.parse().unwrap_or(0)));
                vec![Reply::Text("printed".to_string())]
            }
            ["count"] => vec![Reply::Text(format!("answered {answered}"))],
            ["show", id] => vec![Reply::Product(id.to_string())],
            ["show", ids @ ..] => vec![Reply::ProductList(ProductListReply {
                header: "Products".to_string(),
                body: "Have a look".to_string(),
                product_ids: ids.iter().map(|id| id.to_string()).collect(),
            })],
            ["silent"] => Vec::new(),
            ["crash"] => panic!("crashing on purpose"),
            _ => vec![Reply::Text(format!("unknown command: {text}"))],
        }
    }

    fn handle_event(_: ConversationContext, _: ShopEvent) -> Vec<Reply> {
        Vec::new()
    }
}

impl exports::bottega::shop::storefront::Guest for Quota {
    fn present_catalog(_: ConversationContext, _: CatalogQuery) -> Vec<Reply> {
        Vec::new()
    }
    fn price_cart(_: ConversationContext, cart: Cart) -> Vec<DiscountLine> {
        let amount = kv::get("discount").and_then(|v| String::from_utf8(v).ok()).and_then(|s| s.parse::<i64>().ok());
        match amount {
            Some(amount_minor) => vec![DiscountLine {
                label: "test discount".to_string(),
                amount_minor,
                product_ids: cart.lines.iter().take(1).map(|l| l.product_id.clone()).collect(),
            }],
            None => Vec::new(),
        }
    }
}

/// Writes `n` log lines, "line 0" and on (8 bytes each, counting their empty fields).
fn log_lines(n: u32) {
    for i in 0..n {
        log::log(log::Level::Info, &format!("line {i}"), &[]);
    }
}

/// Prints `n` bytes to stdout, flushed before the call ends.
fn print_bytes(n: usize) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all("p".repeat(n).as_bytes());
    let _ = out.flush();
}

export!(Quota);
