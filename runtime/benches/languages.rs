//! The plugin host per plugin language: for the Rust example (grocery) and the
//! Python, JavaScript and C examples, in one run:
//!
//! - component size and compile time (cold compiled cache);
//! - load from the compiled cache (a restarted node: memory-map + link);
//! - instantiate + one `handle-message` call, p50/p99, a fresh instance per
//!   message, through the host and bare (wasmtime alone: store, instance, call,
//!   none of the host's slots, limiter, deadline or checks): the difference is
//!   what the host adds;
//! - a warm call: the same message answered by a reused instance;
//! - the startup cost the host measures when it compiles the plugin (a fresh
//!   instance's first call against a second one), and the choice it makes
//!   from it (a fresh instance per message, or reuse).
//!
//! The non-Rust components are read from `target/example-plugins/`, where the
//! end-to-end tests build them with each example's build command:
//!
//!     cargo test -p bottega-tests --test e2e languages && cargo bench -p bottega --bench languages
//!
//! Figures compare within one run (this machine is noisy).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bottega::plugin::bindings::{CartItem, InboundMessage};
use bottega::plugin::{Capability, DEFAULT_REUSE_ABOVE, InstancePolicy, PluginHost};
use bottega::store::businesses::{self, NewBusiness};
use bottega::store::products::{self, ProductInput};
use bottega::{App, Config};

/// Fresh-instance and warm iterations (fewer for interpreted plugins, whose
/// instances are bigger).
const ITERATIONS_COMPILED: usize = 2000;
const ITERATIONS_INTERPRETED: usize = 300;

mod common;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())
}

struct Row {
    language: &'static str,
    size: usize,
    compile: Duration,
    load: Duration,
    fresh: (Duration, Duration),
    bare: (Duration, Duration),
    warm: (Duration, Duration),
    startup: Option<Duration>,
}

async fn run() -> anyhow::Result<()> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let examples = target.join("example-plugins");
    let mut plugins: Vec<(&'static str, Vec<u8>, &'static str)> =
        vec![("Rust (grocery)", bottega_plugin_artifacts::GROCERY_RUST_BYTES.to_vec(), "")];
    for (language, file, product) in [
        ("C (florist)", "florist_c.wasm", "red-rose"),
        ("Python (bakery)", "bakery_python.wasm", "croissant"),
        ("JavaScript (bookshop)", "bookshop_js.wasm", "dune"),
    ] {
        match std::fs::read(examples.join(file)) {
            Ok(wasm) => plugins.push((language, wasm, product)),
            Err(_) => println!(
                "{language}: {} is missing; build it with `cargo test -p bottega-tests --test e2e languages`",
                examples.join(file).display()
            ),
        }
    }
    let mut rows = Vec::new();
    for (language, wasm, product) in plugins {
        let product = if product.is_empty() { "bananas" } else { product };
        rows.push(measure(language, &wasm, product).await?);
    }

    println!();
    println!(
        "| language | size | compile | load (cache) | instantiate + call p50 / p99 | wasmtime alone p50 / p99 | host adds (p50) | warm call p50 / p99 | startup (measured at compile) → host's choice |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let added = row.fresh.0.saturating_sub(row.bare.0);
        let choice = match InstancePolicy::for_cost(row.startup, DEFAULT_REUSE_ABOVE) {
            InstancePolicy::FreshPerMessage => "fresh per message",
            InstancePolicy::Reused => "reused",
        };
        println!(
            "| {} | {:.1} MiB | {:.2?} | {:.2?} | {:.1?} / {:.1?} | {:.1?} / {:.1?} | {:.1?} | {:.1?} / {:.1?} | {:.1?} → {choice} |",
            row.language,
            row.size as f64 / f64::from(1 << 20),
            row.compile,
            row.load,
            row.fresh.0,
            row.fresh.1,
            row.bare.0,
            row.bare.1,
            added,
            row.warm.0,
            row.warm.1,
            row.startup.unwrap_or_default(),
        );
    }
    Ok(())
}

async fn measure(language: &'static str, wasm: &[u8], product: &str) -> anyhow::Result<Row> {
    // Compile into a cold cache, once (seconds for the interpreted ones).
    let scratch = tempfile::tempdir()?;
    let host = PluginHost::new(Default::default(), scratch.path())?;
    let started = Instant::now();
    let prepared = host.prepare_upload(wasm, &Capability::ALL).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let compile = started.elapsed();
    let interpreted = prepared.inspection.language_class == bottega::plugin::LanguageClass::Interpreted;
    let iterations = if interpreted { ITERATIONS_INTERPRETED } else { ITERATIONS_COMPILED };

    // A node with one shop running the plugin, selling the product the message names.
    let dir = tempfile::tempdir()?;
    let app = App::start(bench_config(dir.path())).await?;
    let (business, _) = businesses::create(&app.db, NewBusiness::with_every_capability("Bench", "EUR")).await?;
    let item = ProductInput {
        id: product.into(),
        name: "Bench product".into(),
        description: String::new(),
        photo_url: None,
        price_minor: 100,
        currency: "EUR".into(),
        stock: 1000,
        section: "Bench".into(),
        available: true,
    };
    products::create(&app.db, &business.id, &item).await?;
    let version = app
        .plugins
        .publish(&app.db, &business, wasm, true)
        .await?
        .finished(&app.db)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Load from the compiled cache, as a restarted node does.
    let restarted = App::start(bench_config(dir.path())).await?;
    let started = Instant::now();
    restarted.plugins.load(&restarted.db, &version.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let load = started.elapsed();
    drop(restarted);

    let plugin = app.plugins.load(&app.db, &version.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let business = businesses::get(&app.db, &business.id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    let (scope, context) = common::conversation(&app, &business);
    // A cart sent whole: every example answers it (with a summary and buttons).
    let message = InboundMessage::Cart(vec![CartItem { product_id: product.into(), quantity: 1 }]);

    let mut fresh_scope = scope.clone();
    fresh_scope.limits.max_instance_uses = 1;
    let mut fresh = Vec::with_capacity(iterations);
    let mut bare = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        // Interleaved, so both see the same machine.
        let started = Instant::now();
        let replies = common::answer(&app, &plugin, &fresh_scope, &business, &context, &message).await?;
        fresh.push(started.elapsed());
        assert!(!replies.is_empty(), "{language} answered");

        let started = Instant::now();
        let replies = app.plugins.bare_instantiate_and_call(&plugin, fresh_scope.clone(), &context, &message).await?;
        bare.push(started.elapsed());
        assert!(!replies.is_empty(), "{language} answered bare");
    }

    let mut warm_scope = scope.clone();
    warm_scope.limits.max_instance_uses = 10_000;
    let mut warm = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        common::answer(&app, &plugin, &warm_scope, &business, &context, &message).await?;
        warm.push(started.elapsed());
    }
    Ok(Row {
        language,
        size: wasm.len(),
        compile,
        load,
        fresh: common::percentiles(&mut fresh),
        bare: common::percentiles(&mut bare),
        warm: common::percentiles(&mut warm),
        startup: plugin.startup,
    })
}

/// A node whose instances are fresh or reused as each scope says: both are
/// measured here, whatever the host would choose.
fn bench_config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir.to_path_buf(), "bench".into());
    config.plugins.reuse_instances_above = Duration::ZERO;
    config
}
