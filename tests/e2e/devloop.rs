//! The plugin developer's loop, as `bottega plugin check` and `plugin chat`
//! use it: the upload's checks without a server, and a local conversation
//! that reports what each turn used against production's limits.

use bottega::chat::{Inbound, fallback};
use bottega::config::PluginHostConfig;
use bottega::devloop::{self, LocalShop};
use bottega_tests::plugins;

const CATALOG: &str = r#"[
    {"id": "apples", "name": "Gala apples", "price_minor": 240, "currency": "EUR", "stock": 10, "section": "Fruit"},
    {"id": "bread", "name": "Sourdough loaf", "price_minor": 450, "currency": "EUR", "stock": 5, "section": "Bakery"}
]"#;

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).expect("built plugin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tells_what_an_upload_would_and_names_the_supported_worlds() {
    let config = PluginHostConfig::default();
    let report = devloop::check(&read(plugins::GROCERY_RUST), &config).await.expect("the grocer is accepted");
    assert_eq!(report.world, "bottega:shop@1.0.0");
    let imports: Vec<String> = report.capabilities.iter().map(ToString::to_string).collect();
    assert_eq!(imports, ["cart", "catalog", "clock", "kv", "log"]);
    assert_eq!(report.max_upload_bytes, config.max_upload_bytes);
    assert!(report.size_bytes > 0 && report.size_bytes < report.max_upload_bytes);

    let refused = devloop::check(&read(plugins::TEST_WRONG_WORLD), &config).await.expect_err("wrong world");
    assert!(refused.to_string().contains("this host supports bottega:shop@1.0.0"), "{refused}");
    let small = PluginHostConfig { max_upload_bytes: 1024, ..PluginHostConfig::default() };
    assert!(devloop::check(&read(plugins::GROCERY_RUST), &small).await.is_err(), "too big for a 1 KiB limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_chat_answers_like_production_and_reports_usage_against_the_limits() {
    let shop = LocalShop::start(&read(plugins::GROCERY_RUST), Some(CATALOG.as_bytes()), "EUR").await.expect("shop");
    let hello = shop.send(devloop::parse_input("hi").expect("text")).await.expect("turn");
    let shown = devloop::show::lines(&hello.replies[0].body);
    assert!(shown[0].starts_with("Welcome to Verdura"), "{shown:?}");
    assert!(shown.iter().any(|line| line.contains("(/tap browse)")), "{shown:?}");
    let run = hello.plugin_run.expect("the plugin ran");
    assert!(run.fault.is_none());
    let limits = shop.limits();
    assert!(run.usage.peak_memory_bytes > 0 && (run.usage.peak_memory_bytes as u64) <= limits.memory_bytes);
    assert!(run.usage.largest_output_bytes > 0 && (run.usage.largest_output_bytes as u64) <= limits.max_output_bytes);

    // The catalog given is the shop's: its section lists its product with the price.
    let fruit = shop.send(devloop::parse_input("/tap section:Fruit Fruit").expect("tap")).await.expect("turn");
    let shown: Vec<String> = fruit.replies.iter().flat_map(|m| devloop::show::lines(&m.body)).collect();
    assert!(shown.iter().any(|line| line.contains("Gala apples — €2.40")), "{shown:?}");

    // A bad catalog is refused with the product named.
    let bad = r#"[{"id": "x y", "name": "Bad id", "price_minor": 1, "currency": "EUR", "section": "A"}]"#;
    let refused = LocalShop::start(&read(plugins::GROCERY_RUST), Some(bad.as_bytes()), "EUR").await;
    assert!(refused.is_err_and(|e| e.to_string().contains("product `x y`")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_shows_the_fallback_and_why() {
    let shop = LocalShop::start(&read(plugins::TEST_TRAP), None, "EUR").await.expect("shop");
    let outcome = shop.send(Inbound::Text("hi".into())).await.expect("turn");
    assert_eq!(outcome.replies[0].body["text"], fallback::FAILED);
    let fault = outcome.plugin_run.and_then(|run| run.fault).expect("the fault is reported");
    assert!(fault.contains("trapped"), "{fault}");
}
