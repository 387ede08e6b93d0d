//! Benchmark: how much a noisy neighbour slows a quiet shop on one node.
//!
//! A quiet shop (the example grocery plugin) answers "hi" from one customer
//! at a time; its p50 reply time through the HTTP API is measured alone, then
//! while a neighbour's plugin is kept busy by eight customers: first a polite
//! but CPU-heavy bot (the loop test plugin's `spin 50`: 50 ms of CPU, within
//! its deadline), then one that loops until its deadline stops it. The fair
//! call slots (`plugin/slots.rs`: round-robin over businesses, a business's
//! running calls bounded by the cores, one call at a time for a business whose
//! calls keep hitting limits) are what keep the ratio down. The aim is a quiet
//! p50 with a noisy neighbour at most 1.5 times its p50 alone.
//!
//! `cargo bench -p bottega --bench noisy_neighbour`. Figures are for
//! comparison within one run: read the ratios, not the absolute numbers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bottega::store::businesses;
use bottega::{App, Config};

/// Quiet replies timed per phase.
const QUIET_SAMPLES: usize = 300;
/// The neighbour's customers, each sending its next message once answered.
const NOISY_CUSTOMERS: usize = 8;
/// How long the neighbour is busy before the quiet shop is timed.
const NOISE_RAMP: Duration = Duration::from_millis(300);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let app = App::start(config(dir.path())).await?;
    let (quiet, quiet_key) =
        businesses::create(&app.db, businesses::NewBusiness::with_every_capability("Quiet grocer", "EUR")).await?;
    app.plugins
        .publish(&app.db, &quiet, bottega_plugin_artifacts::GROCERY_RUST_BYTES, true)
        .await?
        .finished(&app.db)
        .await?;
    let (noisy, noisy_key) =
        businesses::create(&app.db, businesses::NewBusiness::with_every_capability("Noisy neighbour", "EUR")).await?;
    let looping = std::fs::read(bottega_plugin_artifacts::TEST_LOOP)?;
    app.plugins.publish(&app.db, &noisy, &looping, true).await?.finished(&app.db).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/messages", listener.local_addr()?);
    let router = app.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();

    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!(
        "noisy neighbour: {cores} cores, {NOISY_CUSTOMERS} noisy customers, {QUIET_SAMPLES} quiet replies a phase"
    );
    quiet_phase(&client, &url, &quiet_key, 30).await?; // warm up
    let alone = quiet_phase(&client, &url, &quiet_key, QUIET_SAMPLES).await?;
    alone.print("quiet shop alone", None);

    // Polite first: a neighbour that hit its limits is slowed for a while after.
    for (label, text) in
        [("next to a CPU-heavy neighbour (spin 50)", "spin 50"), ("next to a looping neighbour", "loop")]
    {
        let stop = Arc::new(AtomicBool::new(false));
        let noise: Vec<_> = (0..NOISY_CUSTOMERS)
            .map(|c| {
                tokio::spawn(noisy_customer(client.clone(), url.clone(), noisy_key.clone(), c, text, stop.clone()))
            })
            .collect();
        tokio::time::sleep(NOISE_RAMP).await;
        let with = quiet_phase(&client, &url, &quiet_key, QUIET_SAMPLES).await?;
        stop.store(true, Ordering::Relaxed);
        let mut noisy_sent = 0;
        for customer in noise {
            noisy_sent += customer.await??;
        }
        with.print(label, Some(alone.p50));
        println!("    (the neighbour's customers sent {noisy_sent} messages meanwhile)");
    }
    server.abort();
    Ok(())
}

/// The quiet shop's reply times in one phase.
struct Phase {
    p50: Duration,
    p99: Duration,
    /// Replies that were a fallback, not the quiet shop's bot.
    fallbacks: usize,
}

impl Phase {
    fn print(&self, label: &str, alone: Option<Duration>) {
        let ratio =
            alone.map(|alone| format!("  p50 ratio {:.2}x", self.p50.as_secs_f64() / alone.as_secs_f64().max(1e-9)));
        println!(
            "  {label:<42} p50 {:>9.2?}  p99 {:>9.2?}  fallbacks {}{}",
            self.p50,
            self.p99,
            self.fallbacks,
            ratio.unwrap_or_default()
        );
    }
}

async fn quiet_phase(client: &reqwest::Client, url: &str, key: &str, samples: usize) -> anyhow::Result<Phase> {
    let mut times = Vec::with_capacity(samples);
    let mut fallbacks = 0;
    for n in 0..samples {
        let body = serde_json::json!({"customer": format!("quiet-{}", n % 20), "text": "hi"});
        let started = Instant::now();
        let response = client.post(url).bearer_auth(key).json(&body).send().await?;
        anyhow::ensure!(response.status().is_success(), "status {}", response.status());
        let outcome: serde_json::Value = response.json().await?;
        times.push(started.elapsed());
        if outcome["replies"][0]["author"] != "bot" {
            fallbacks += 1;
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok(Phase { p50: at(0.5), p99: at(0.99), fallbacks })
}

/// One of the neighbour's customers: sends `text` again as soon as answered, until stopped.
async fn noisy_customer(
    client: reqwest::Client,
    url: String,
    key: String,
    customer: usize,
    text: &'static str,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<u64> {
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let body = serde_json::json!({"customer": format!("noisy-{customer}"), "text": text});
        let response = client.post(&url).bearer_auth(&key).json(&body).send().await?;
        anyhow::ensure!(response.status().is_success(), "status {}", response.status());
        let _ = response.bytes().await?;
        sent += 1;
    }
    Ok(sent)
}

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir.to_path_buf(), "bench".into());
    // The looping neighbour must stay noisy: its breaker never trips here.
    config.plugins.failures_before_disable = u32::MAX;
    config
}
