//! Benchmarks of the plugin host, for the example grocery plugin:
//!
//! 1. compile: validate + compile + link an upload (cold compiled cache);
//! 2. load: a restarted node loading the version from its compiled cache;
//! 3. dispatch: session start (instantiate, or take an idle instance) + one
//!    `handle-message` call (p50/p99), fresh instances and the default bounded
//!    reuse, next to the same answer from a native Rust handler;
//! 4. end to end: messages per second through the HTTP API (SQLite, and
//!    PostgreSQL when `DATABASE_URL` is set), plugin shop vs the same server
//!    answering with an equivalent native Rust handler, as a ratio of one run.
//!
//! `cargo bench -p bottega`. Figures are for comparison within one run: this
//! machine is noisy, so read the ratios, not the absolute numbers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bottega::chat::{BoxFuture, NativeBot};
use bottega::plugin::bindings::{ButtonsReply, CartItem, ConversationContext, InboundMessage, Reply, ReplyButton};
use bottega::plugin::{CallScope, Capability, PluginHost};
use bottega::store::{businesses, kv};
use bottega::{App, Config};

const DISPATCH_ITERATIONS: usize = 3000;
const E2E_CLIENTS: usize = 8;
const E2E_PHASE: Duration = Duration::from_secs(2);
const E2E_ROUNDS: usize = 5;

mod common;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let wasm = bottega_plugin_artifacts::GROCERY_RUST_BYTES;
    println!("example plugin: grocery-rust, {} bytes", wasm.len());

    // 1. Compile an upload into a cold cache.
    let mut compile = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir()?;
        let host = PluginHost::new(Default::default(), dir.path())?;
        let started = Instant::now();
        host.prepare_upload(wasm, &Capability::ALL).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        compile.push(started.elapsed());
    }
    report("compile + validate + link (cold cache)", &mut compile);

    // A node with the demo shop (which runs the plugin).
    let dir = tempfile::tempdir()?;
    let app = App::start(config(dir.path(), None)).await?;
    let demo = bottega::seed::seed_demo_if_empty(&app).await?.ok_or_else(|| anyhow::anyhow!("no demo"))?;
    let version = demo.business.active_plugin_version_id.clone().ok_or_else(|| anyhow::anyhow!("no plugin"))?;

    // 2. Load from the compiled cache, as a restarted node does.
    let mut load = Vec::new();
    for _ in 0..5 {
        let restarted = App::start(config(dir.path(), None)).await?;
        let started = Instant::now();
        restarted.plugins.load(&restarted.db, &version).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        load.push(started.elapsed());
    }
    report("load from the compiled cache (restart)", &mut load);

    // 3. Dispatch: a fresh instance and one call, for a message the plugin
    // answers without host calls (a cart sent whole).
    let plugin = app.plugins.load(&app.db, &version).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let business = businesses::get(&app.db, &demo.business.id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    let (scope, context) = common::conversation(&app, &business);
    let message = InboundMessage::Cart(vec![CartItem { product_id: "bananas".into(), quantity: 2 }]);
    // A fresh instance for every message (max_instance_uses = 1)...
    let mut fresh_scope = scope.clone();
    fresh_scope.limits.max_instance_uses = 1;
    let mut instantiate = Vec::with_capacity(DISPATCH_ITERATIONS);
    let mut fresh = Vec::with_capacity(DISPATCH_ITERATIONS);
    for _ in 0..DISPATCH_ITERATIONS {
        let started = Instant::now();
        let mut session = app
            .plugins
            .start_session(&plugin, fresh_scope.clone(), &business.capabilities)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        instantiate.push(started.elapsed());
        let replies = session.handle_message(&context, &message).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        session.finish();
        fresh.push(started.elapsed());
        assert_eq!(replies.len(), 3);
    }
    // ...and with the default bounded reuse (a fresh instance every 100 messages).
    let mut reused = Vec::with_capacity(DISPATCH_ITERATIONS);
    for _ in 0..DISPATCH_ITERATIONS {
        let started = Instant::now();
        let replies = common::answer(&app, &plugin, &scope, &business, &context, &message).await?;
        reused.push(started.elapsed());
        assert_eq!(replies.len(), 3);
    }
    let native = NativeGrocer;
    let mut native_dispatch = Vec::with_capacity(DISPATCH_ITERATIONS);
    for _ in 0..DISPATCH_ITERATIONS {
        let started = Instant::now();
        let replies = native.handle_message(&scope, &context, &message).await;
        native_dispatch.push(started.elapsed());
        assert_eq!(replies.len(), 3);
    }
    report("instantiate a fresh instance", &mut instantiate);
    let fresh_p50 = report("dispatch, fresh instance (incl. teardown)", &mut fresh);
    let reused_p50 = report("dispatch, bounded reuse (default, 1 in 100 fresh)", &mut reused);
    let native_p50 = report("dispatch, native Rust handler", &mut native_dispatch);
    println!(
        "  dispatch p50 vs native: fresh {:.0}x, reuse {:.0}x",
        ratio(fresh_p50, native_p50),
        ratio(reused_p50, native_p50)
    );

    // 4. End to end through HTTP.
    e2e("SQLite", &app, &demo.api_key).await?;
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let pg_dir = tempfile::tempdir()?;
        let pg = App::start(config(pg_dir.path(), Some(url))).await?;
        // Each run starts from a fresh demo business of its own.
        let (business, key) =
            businesses::create(&pg.db, businesses::NewBusiness::with_every_capability("Verdura bench", "EUR")).await?;
        pg.plugins.publish(&pg.db, &business, wasm, true).await?.finished(&pg.db).await?;
        e2e("PostgreSQL", &pg, &key).await?;
    } else {
        println!("\n(end to end on PostgreSQL skipped: DATABASE_URL is not set)");
    }
    Ok(())
}

/// Messages per second through the HTTP API: the plugin shop and a shop
/// answered by the native handler, alternated twice in one run.
async fn e2e(label: &str, app: &App, plugin_key: &str) -> anyhow::Result<()> {
    let (native_business, native_key) =
        businesses::create(&app.db, businesses::NewBusiness::with_every_capability("Native grocer", "EUR")).await?;
    app.chat.set_native_bot(&native_business.id, Arc::new(NativeGrocer));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/messages", listener.local_addr()?);
    let router = app.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    println!("\nend to end, {label}: {E2E_CLIENTS} clients, \"hi\" from 20 customers each");
    let mut plugin_rates = Vec::new();
    let mut native_rates = Vec::new();
    // Warm both paths (connections, caches), then alternate so drift hits both.
    load(&url, plugin_key, Duration::from_millis(500)).await?;
    load(&url, &native_key, Duration::from_millis(500)).await?;
    for _ in 0..E2E_ROUNDS {
        plugin_rates.push(load(&url, plugin_key, E2E_PHASE).await?);
        native_rates.push(load(&url, &native_key, E2E_PHASE).await?);
    }
    server.abort();
    let median = |rates: &[f64]| {
        let mut sorted = rates.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let (plugin, native) = (median(&plugin_rates), median(&native_rates));
    println!("  plugin shop : {plugin:8.0} messages/s median (runs: {plugin_rates:.0?})");
    println!("  native shop : {native:8.0} messages/s median (runs: {native_rates:.0?})");
    println!("  plugin/native throughput ratio (medians): {:.2}", plugin / native);
    Ok(())
}

async fn load(url: &str, key: &str, phase: Duration) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..E2E_CLIENTS {
        let (client, url, key) = (client.clone(), url.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while started.elapsed() < phase {
                let body = serde_json::json!({"customer": format!("c{c}-{}", sent % 20), "text": "hi"});
                let response = client.post(&url).bearer_auth(&key).json(&body).send().await?;
                anyhow::ensure!(response.status().is_success(), "status {}", response.status());
                let outcome: serde_json::Value = response.json().await?;
                anyhow::ensure!(outcome["replies"][0]["author"] == "bot", "unexpected reply {outcome}");
                sent += 1;
            }
            Ok::<u64, anyhow::Error>(sent)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// The grocery plugin's answers to "hi" and to a cart, written in Rust: the
/// same key-value reads and writes, the same replies.
struct NativeGrocer;

impl NativeBot for NativeGrocer {
    fn handle_message<'a>(
        &'a self,
        scope: &'a CallScope,
        context: &'a ConversationContext,
        message: &'a InboundMessage,
    ) -> BoxFuture<'a, Vec<Reply>> {
        Box::pin(async move {
            let button = |id: &str, title: &str| ReplyButton { id: id.into(), title: title.into() };
            if let InboundMessage::Cart(items) = message {
                let units: u32 = items.iter().map(|i| i.quantity).sum();
                return vec![
                    Reply::Text(format!("Thanks! I've put your {units} items in the basket.")),
                    Reply::CartSummary,
                    Reply::Buttons(ButtonsReply {
                        body: "Anything else?".into(),
                        buttons: vec![
                            button("checkout", "Check out"),
                            button("browse", "Keep browsing"),
                            button("cart", "My basket"),
                        ],
                    }),
                ];
            }
            let key = format!("seen:{}", context.customer_id);
            let returning = kv::get(&scope.db, &scope.business_id, &key).await.ok().flatten().is_some();
            if !returning {
                let stamp = bottega::ids::now_ms().to_le_bytes();
                let _ = kv::set(&scope.db, &scope.business_id, &key, &stamp, scope.limits.kv_quota_bytes).await;
            }
            let body = if returning {
                "Welcome back to Verdura! What can I get you today?"
            } else {
                "Welcome to Verdura, your neighbourhood grocer! Fresh fruit, vegetables, bread and dairy, delivered today. What would you like?"
            };
            vec![Reply::Buttons(ButtonsReply {
                body: body.into(),
                buttons: vec![
                    button("browse", "Browse the shop"),
                    button("cart", "My basket"),
                    button("agent", "Talk to a person"),
                ],
            })]
        })
    }
}

fn config(dir: &std::path::Path, database_url: Option<String>) -> Config {
    let mut config = Config::new(dir.to_path_buf(), "bench".into());
    config.database_url = database_url;
    // PostgreSQL needs a key-encryption key named: a fixed one for benches
    // (32 zero bytes), so every runtime of a run reads what another sealed.
    if config.database_url.is_some() {
        config.key = bottega::privacy::KeySource::Base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    }
    // Fresh and reused instances are both measured here, as each scope says.
    config.plugins.reuse_instances_above = Duration::ZERO;
    config
}

/// Prints p50/p99 (and min) of `samples`; returns the p50.
fn report(what: &str, samples: &mut [Duration]) -> Duration {
    let (p50, p99) = common::percentiles(samples);
    println!("{what:<45} p50 {:>10.1?}  p99 {:>10.1?}  min {:>10.1?}  (n={})", p50, p99, samples[0], samples.len());
    p50
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}
