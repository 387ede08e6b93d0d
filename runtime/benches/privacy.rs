//! Privacy by construction, measured:
//!
//! - messages per second end to end (the JSON channel API answered by a
//!   native bot, so the plugin host is not what is measured), with the
//!   sealing and opening a message costs measured apart with the envelope
//!   functions themselves: the runtime has no switch that turns encryption
//!   off, so the share of a message's time spent sealing stands in for the
//!   issue's on/off ratio (aim: 0.95 or more);
//! - the export of one customer with 10,000 messages (`BENCH_MESSAGES`);
//! - the erasure of a customer, per customer (200 of them with 20 messages
//!   each: `BENCH_ERASED`);
//! - data keys re-wrapped per second under a new key-encryption key (5,000
//!   keys: `BENCH_KEYS`), then back, so the database is left as found.
//!
//! On SQLite, and on PostgreSQL when `DATABASE_URL` is set.
//! `cargo bench -p bottega --bench privacy`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bottega::privacy::envelope::{self, DataKey};
use bottega::privacy::{Binding, KeySource};
use bottega::store::conversations::{self, Author, Direction, Outgoing};
use bottega::store::data_keys::{self, KeyOwner};
use bottega::store::{Db, businesses, customer_data};
use bottega::{App, Config};
use serde_json::json;

const PHASE: Duration = Duration::from_secs(4);
const CLIENTS: usize = 8;
/// Messages stored per transaction while a customer's history is laid down.
const APPEND_BATCH: usize = 100;
/// The key-encryption key of a run (32 zero bytes, as the other benches use),
/// and the one a rotation moves to (32 bytes of 1).
const KEK: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const NEXT_KEK: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[path = "common/load.rs"]
mod load;

/// Who client `c`'s `n`th message comes from (20 customers per client).
fn customer(c: usize, n: u64) -> String {
    format!("+3460000{c}{:03}", n % 20)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        sealing()?;
        run("SQLite", None).await?;
        match std::env::var("DATABASE_URL") {
            Ok(url) => run("PostgreSQL", Some(url)).await,
            Err(_) => {
                println!("\n(PostgreSQL skipped: DATABASE_URL is not set)");
                Ok(())
            }
        }
    })
}

fn count_from_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What one sealing and one opening of a typical message body cost, with the
/// envelope functions alone (no database): microseconds each.
fn sealing() -> anyhow::Result<()> {
    let key = DataKey::generate("dk_bench".into())?;
    let body =
        json!({"type": "text", "text": "Hello! I would like two loaves of rye and a dozen eggs, please."}).to_string();
    let rounds = 100_000;
    let started = Instant::now();
    let mut sealed = String::new();
    for n in 0..rounds {
        let row = format!("msg_{n}");
        sealed = envelope::seal(&key, Binding::new("messages", "body", &row), body.as_bytes())?;
    }
    let seal_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let last = format!("msg_{}", rounds - 1);
    let started = Instant::now();
    for _ in 0..rounds {
        envelope::open(&key, Binding::new("messages", "body", &last), &sealed)?;
    }
    let open_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!("sealing a message body: {seal_us:.2} µs; opening it: {open_us:.2} µs (envelope functions alone)");
    let _ = SEALING.set((seal_us, open_us));
    Ok(())
}

/// The envelope's costs measured by [`sealing`], for the end-to-end estimate.
static SEALING: std::sync::OnceLock<(f64, f64)> = std::sync::OnceLock::new();

/// What an answered message seals and opens: its inbound body, its reply,
/// the customer's handle (sealed again when the conversation is opened);
/// the reply read back for the response.
const SEALS_PER_MESSAGE: f64 = 3.0;
const OPENS_PER_MESSAGE: f64 = 1.0;

fn config(dir: &std::path::Path, database_url: Option<String>) -> Config {
    let mut config = Config::new(dir.to_path_buf(), "bench".into());
    config.database_url = database_url;
    config.key = KeySource::Base64(KEK.into());
    config.seed_demo = false;
    config.billing.finalize_every = None;
    config.billing.collect_every = None;
    config
}

async fn run(label: &str, database_url: Option<String>) -> anyhow::Result<()> {
    println!("\n== {label} ==");
    let dir = tempfile::tempdir()?;
    let app = App::start(config(dir.path(), database_url.clone())).await?;
    messages(&app).await?;
    export(&app.db, count_from_env("BENCH_MESSAGES", 10_000)).await?;
    erasure(&app.db, count_from_env("BENCH_ERASED", 200)).await?;
    let _ = app.shutdown(Duration::from_secs(5)).await;
    rewrap(dir.path(), database_url, count_from_env("BENCH_KEYS", 5_000)).await
}

/// Answered messages per second through the HTTP API, and the share of each
/// message's time its sealing and opening take.
async fn messages(app: &App) -> anyhow::Result<()> {
    let (business, key) =
        businesses::create(&app.db, businesses::NewBusiness::with_every_capability("Privacy bench shop", "EUR"))
            .await?;
    app.chat.set_native_bot(&business.id, Arc::new(load::Hello));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/messages", listener.local_addr()?);
    let router = app.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let shop = (url, key);
    load::answered_per_second(&shop, CLIENTS, Duration::from_millis(500), customer).await?;
    let rate = load::answered_per_second(&shop, CLIENTS, PHASE, customer).await?;
    let (seal_us, open_us) = SEALING.get().copied().unwrap_or_default();
    let crypto_us = SEALS_PER_MESSAGE * seal_us + OPENS_PER_MESSAGE * open_us;
    // The node's time per message at that rate, as if it all ran on one
    // core: the share sealing takes of it bounds what turning it off gains.
    let message_us = 1e6 / rate.max(f64::MIN_POSITIVE);
    println!(
        "messages end to end ({CLIENTS} clients, native bot, encryption on): {rate:.0}/s; sealing and opening \
         take {crypto_us:.1} µs of a message's {message_us:.0} µs: off would be at most {:.3}× faster \
         (on/off ratio at least {:.3})",
        message_us / (message_us - crypto_us).max(f64::MIN_POSITIVE),
        (message_us - crypto_us) / message_us
    );
    Ok(())
}

/// A customer of `business_id` with `messages` messages in one conversation
/// (laid down in transactions of [`APPEND_BATCH`]); their pseudonym.
async fn customer_with(db: &Db, business_id: &str, n: usize, messages: usize) -> anyhow::Result<String> {
    let customer_id = format!("cus_bench{n:06}_{}", uuid::Uuid::new_v4().simple());
    let handle = format!("+3470{n:07}");
    let conversation = conversations::open(db, business_id, &customer_id, "api", &handle, "en").await?;
    let mut written = 0;
    while written < messages {
        let batch = APPEND_BATCH.min(messages - written);
        let bodies: Vec<serde_json::Value> = (written..written + batch)
            .map(|m| json!({"type": "text", "text": format!("message {m}: two loaves of rye, please")}))
            .collect();
        conversations::append_sending(
            db,
            business_id,
            &conversation,
            Direction::Inbound,
            Author::Customer,
            &bodies,
            Outgoing::default(),
        )
        .await?;
        written += batch;
    }
    Ok(customer_id)
}

/// The export of one customer with `messages` messages.
async fn export(db: &Db, messages: usize) -> anyhow::Result<()> {
    let (business, _) =
        businesses::create(db, businesses::NewBusiness::with_every_capability("Export bench", "EUR")).await?;
    let laying = Instant::now();
    let customer = customer_with(db, &business.id, 0, messages).await?;
    let laid = laying.elapsed();
    let started = Instant::now();
    let export = customer_data::export(db, &business.id, &customer).await?;
    let took = started.elapsed();
    let exported: usize = export.conversations.iter().map(|c| c.messages.len()).sum();
    anyhow::ensure!(exported == messages, "exported {exported} of {messages} messages");
    println!(
        "export of a customer with {messages} messages: {took:.2?} ({:.0} messages/s; laying them down took {laid:.1?}, \
         not part of the measure)",
        messages as f64 / took.as_secs_f64()
    );
    Ok(())
}

/// The erasure of `count` customers with 20 messages each, one after another.
async fn erasure(db: &Db, count: usize) -> anyhow::Result<()> {
    let (business, _) =
        businesses::create(db, businesses::NewBusiness::with_every_capability("Erasure bench", "EUR")).await?;
    let mut customers = Vec::with_capacity(count);
    for n in 0..count {
        customers.push(customer_with(db, &business.id, n, 20).await?);
    }
    let mut samples = Vec::with_capacity(count);
    for customer in &customers {
        let started = Instant::now();
        let erased = customer_data::erase(db, &business.id, customer).await?;
        samples.push(started.elapsed());
        anyhow::ensure!(erased.key_destroyed, "the key of {customer} was not destroyed");
    }
    samples.sort();
    let total: Duration = samples.iter().sum();
    let at = |q: f64| samples.get(((samples.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    println!(
        "erasure of {count} customers (20 messages each): {:.2?} per customer on average, p50 {:.2?}, p99 {:.2?}",
        total / u32::try_from(count.max(1)).unwrap_or(u32::MAX),
        at(0.5),
        at(0.99)
    );
    Ok(())
}

/// Data keys re-wrapped per second: `count` customer keys made under
/// [`KEK`], re-wrapped under [`NEXT_KEK`], then back under [`KEK`].
async fn rewrap(dir: &std::path::Path, database_url: Option<String>, count: usize) -> anyhow::Result<()> {
    let first = KeySource::Base64(KEK.into());
    let next = KeySource::Base64(NEXT_KEK.into());
    let db = Db::connect_with(database_url.as_deref(), dir, &first, None).await?;
    let (business, _) =
        businesses::create(&db, businesses::NewBusiness::with_every_capability("Rotation bench", "EUR")).await?;
    for n in 0..count {
        let customer = format!("cus_rewrap{n:06}");
        db.data_key(&business.id, KeyOwner::Customer(&customer)).await?;
    }
    db.pool().close().await;
    for (label, current, previous) in [("to a new key", &next, &first), ("and back", &first, &next)] {
        let db = Db::connect_with(database_url.as_deref(), dir, current, Some(previous)).await?;
        let started = Instant::now();
        let rotation = data_keys::rewrap_all(&db, false).await?;
        let took = started.elapsed();
        println!(
            "re-wrapping data keys {label}: {} of {} in {took:.2?} ({:.0} keys/s; {} could not be)",
            rotation.rewrapped,
            rotation.total,
            rotation.rewrapped as f64 / took.as_secs_f64(),
            rotation.failed.len()
        );
        db.pool().close().await;
    }
    Ok(())
}
