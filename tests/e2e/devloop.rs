//! The plugin developer's loop, as `bottega plugin check` and `plugin chat`
//! use it: the upload's checks without a server, and a local conversation
//! that reports what each turn used against production's limits.

use bottega::chat::{Inbound, fallback};
use bottega::config::PluginHostConfig;
use bottega::devloop::new::Language;
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
    assert_eq!(report.world, "bottega:shop@1.1.0");
    let imports: Vec<String> = report.capabilities.iter().map(ToString::to_string).collect();
    assert_eq!(imports, ["cart", "catalog", "clock", "kv", "log", "orders"]);
    assert_eq!(report.language_class, bottega::plugin::LanguageClass::Compiled);
    assert_eq!(report.max_upload_bytes, config.upload_limits.compiled);
    assert!(report.size_bytes > 0 && report.size_bytes < report.max_upload_bytes);

    let refused = devloop::check(&read(plugins::TEST_WRONG_WORLD), &config).await.expect_err("wrong world");
    assert!(refused.to_string().contains("this host supports bottega:shop@1.1.0, bottega:shop@1.0.0"), "{refused}");
    let small = PluginHostConfig {
        upload_limits: bottega::plugin::UploadLimits { compiled: 1024, interpreted: 1 << 30 },
        ..PluginHostConfig::default()
    };
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
    // The local shop counts the instructions each turn ran.
    let greeting = run.usage.instructions.expect("instructions are counted locally");
    assert!(greeting > 0);

    // The catalog given is the shop's: its section lists its product with the price.
    let fruit = shop.send(devloop::parse_input("/tap section:Fruit Fruit").expect("tap")).await.expect("turn");
    let shown: Vec<String> = fruit.replies.iter().flat_map(|m| devloop::show::lines(&m.body)).collect();
    assert!(shown.iter().any(|line| line.contains("Gala apples — €2.40")), "{shown:?}");
    assert!(fruit.plugin_run.and_then(|run| run.usage.instructions).is_some_and(|n| n > 0));

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

/// `plugin new` in each language: the starter builds with the one command its
/// README gives, passes the checks, and answers like a shop.
async fn a_starter_builds_and_answers(language: Language) {
    use bottega_tests::examples;
    let parent = tempfile::tempdir().expect("a folder");
    let dir = parent.path().join("corner-shop");
    let (written, output) = devloop::new::create(&dir, language).expect("created");
    assert!(written.iter().any(|f| f.ends_with("wit/shop.wit")), "the contract travels with the starter");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("a README");
    assert!(readme.contains(language.build_command()), "{readme}");
    let again = devloop::new::create(&dir, language).expect_err("never overwrites");
    assert!(again.to_string().contains("not empty"), "{again}");

    let mut build = std::process::Command::new("sh");
    build.arg("-c").arg(language.build_command()).current_dir(&dir);
    build.env("BOTTEGA_TOOLCHAINS", examples::toolchains()).env("CARGO_TARGET_DIR", examples::scratch_target_dir());
    let Some(()) = examples::required(&format!("the {language:?} starter"), examples::run(build)) else { return };
    // Cargo builds into the shared target folder, not the starter's.
    let output = match language {
        Language::Rust => examples::scratch_target_dir().join("wasm32-wasip2/release/corner_shop.wasm"),
        _ => output,
    };
    let wasm = std::fs::read(&output).unwrap_or_else(|e| panic!("{}: {e}", output.display()));

    let shared = Some(examples::shared_compiled_cache());
    let config = PluginHostConfig { compiled_cache_dir: shared.clone(), ..PluginHostConfig::default() };
    let report = devloop::check(&wasm, &config).await.expect("accepted");
    assert_eq!(report.world, "bottega:shop@1.1.0");
    let catalog = std::fs::read(dir.join("catalog.json")).expect("a sample catalog");
    let shop = LocalShop::start_cached(&wasm, Some(&catalog), "EUR", shared).await.expect("shop");
    let hello = shop.send(devloop::parse_input("hi").expect("text")).await.expect("turn");
    assert_eq!(devloop::show::lines(&hello.replies[0].body), ["Welcome! Tell me what you are looking for."]);
    let found = shop.send(devloop::parse_input("beans").expect("text")).await.expect("turn");
    let shown = devloop::show::lines(&found.replies[0].body).join("\n");
    assert!(shown.contains("Espresso beans") && shown.contains("Filter beans"), "{shown}");
    let added = shop.send(devloop::parse_input("/tap add:mug Add").expect("tap")).await.expect("turn");
    let shown = devloop::show::lines(&added.replies[0].body).join("\n");
    assert!(shown.contains("1 × Stoneware mug"), "{shown}");
}

mod starters {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rust() {
        a_starter_builds_and_answers(Language::Rust).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn python() {
        a_starter_builds_and_answers(Language::Python).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn javascript() {
        a_starter_builds_and_answers(Language::JavaScript).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn c() {
        a_starter_builds_and_answers(Language::C).await;
    }
}

/// `docs/plugins.md` shows exactly the starters `plugin new` writes.
#[test]
fn the_plugin_guide_shows_the_starters_plugin_new_writes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root");
    let guide = std::fs::read_to_string(root.join("docs/plugins.md")).expect("docs/plugins.md");
    for template in ["rust/lib.rs", "python/app.py", "js/shop.js", "c/shop.c"] {
        let source = std::fs::read_to_string(root.join("runtime/templates").join(template)).expect("template");
        assert!(guide.contains(&source), "docs/plugins.md does not show runtime/templates/{template} as it is");
    }
}

bottega_tests::on_both_databases!(a_production_conversation_becomes_a_plugin_test);

/// A business exports a real conversation and replays it against builds of its
/// plugin: the same build answers as recorded; another build's differences are
/// named turn by turn.
async fn a_production_conversation_becomes_a_plugin_test(app: bottega_tests::TestApp) {
    use serde_json::json;
    let shop = app.create_shop("Recorded", json!({})).await;
    app.add_product(&shop, "apples", "Gala apples", 240, "Fruit").await;
    app.add_product(&shop, "bread", "Sourdough loaf", 450, "Bakery").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let customer = "+34 600 000 111";
    let first = app.say(&shop, customer, "hi").await;
    app.send_message(&shop, json!({"customer": customer, "choice": {"id": "section:Fruit", "title": "Fruit"}})).await;
    app.send_message(&shop, json!({"customer": customer, "choice": {"id": "add:apples", "title": "Add"}})).await;
    app.say(&shop, customer, "add 2 bread").await;
    app.send_message(&shop, json!({"customer": customer, "choice": {"id": "checkout", "title": "Check out"}})).await;
    let conversation = first["conversation_id"].as_str().expect("conversation");

    let (status, exported) = app.get(&format!("/v1/conversations/{conversation}/export"), &shop.key).await;
    assert_eq!(status, 200, "{exported}");
    assert_eq!(exported["format"], devloop::recording::FORMAT);
    assert_eq!(exported["catalog"].as_array().map(Vec::len), Some(2));
    assert_eq!(exported["turns"].as_array().map(Vec::len), Some(5), "{exported}");
    assert_eq!(exported["turns"][0]["customer"], json!({"type": "text", "text": "hi"}));

    let bytes = serde_json::to_vec(&exported).expect("json");
    let recording = devloop::recording::parse(&bytes).expect("a recording");
    let same = devloop::recording::replay(&read(plugins::GROCERY_RUST), &recording, None).await.expect("replayed");
    let differing: Vec<_> = same.iter().filter(|t| !t.differences.is_empty()).collect();
    assert!(differing.is_empty(), "the same plugin answers as recorded (checkout included): {differing:?}");

    let other = devloop::recording::replay(&read(plugins::TEST_SPY), &recording, None).await.expect("replayed");
    assert_eq!(other.len(), 5);
    assert!(other[0].differences.iter().any(|d| d.starts_with("replies")), "{:?}", other[0]);

    let (status, _) = app.get("/v1/conversations/conv_nope/export", &shop.key).await;
    assert_eq!(status, 404);
}
