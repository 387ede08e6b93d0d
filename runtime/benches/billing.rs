//! Fees for businesses, measured:
//!
//! - usage rows ingested per second: each row written by
//!   `store::usage::record` in a transaction of its own (the ledger's worst
//!   case: a fact's own transaction adds only the one statement), from 8
//!   concurrent writers (the aim: 2,000/s or more on PostgreSQL on a
//!   2-core machine);
//! - the time to finalise a month for 1,000 businesses with 1,000 usage rows
//!   each (`BENCH_BUSINESSES`, `BENCH_ROWS` to change them): every
//!   business's invoice of the closed month, one after another, as the
//!   finaliser does;
//! - messages per second end to end (the JSON channel API answered by a
//!   native bot, so the plugin host is not what is measured) with billing on
//!   and off in the same run, alternated twice (aim: a ratio of 0.95 or more:
//!   metering is one statement in the inbound message's transaction).
//!
//! On SQLite, and on PostgreSQL when `DATABASE_URL` is set.
//! `cargo bench -p bottega --bench billing`

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bottega::billing::invoices;
use bottega::domain::billing::{Metric, PlanTerms};
use bottega::store::usage::{self, UsageFact};
use bottega::store::{Db, businesses, plans};
use bottega::{App, Config};
use serde_json::json;

const PHASE: Duration = Duration::from_secs(4);
const CLIENTS: usize = 8;
/// Ledger rows per INSERT when the month's usage is laid down.
const INSERT_BATCH: usize = 250;

#[path = "common/load.rs"]
mod load;

/// Who client `c`'s `n`th message comes from (20 customers per client).
fn customer(c: usize, n: u64) -> String {
    format!("c{c}-{}", n % 20)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
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

fn config(dir: &std::path::Path, database_url: Option<String>, billing: bool) -> Config {
    let mut config = Config::new(dir.to_path_buf(), "bench".into());
    config.database_url = database_url;
    // PostgreSQL needs a key-encryption key named: a fixed one for benches
    // (32 zero bytes), so every runtime of a run reads what another sealed.
    if config.database_url.is_some() {
        config.key = bottega::privacy::KeySource::Base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    }
    config.seed_demo = false;
    config.billing.enabled = billing;
    // The bench closes the month itself, and nothing runs on its own.
    config.billing.grace = Duration::ZERO;
    config.billing.finalize_every = None;
    config.billing.collect_every = None;
    config
}

async fn run(label: &str, database_url: Option<String>) -> anyhow::Result<()> {
    println!("\n== {label} ==");
    let dir = tempfile::tempdir()?;
    let app = App::start(config(dir.path(), database_url.clone(), true)).await?;
    let ingested = ingest(&app).await?;
    println!("usage rows ingested (one transaction each, {CLIENTS} writers): {ingested:.0}/s");
    month(&app, count_from_env("BENCH_BUSINESSES", 1_000), count_from_env("BENCH_ROWS", 1_000)).await?;
    let _ = app.shutdown(Duration::from_secs(5)).await;
    messages(database_url).await
}

/// Ledger rows per second, each recorded alone, for `PHASE`.
async fn ingest(app: &App) -> anyhow::Result<f64> {
    let (business, _) =
        businesses::create(&app.db, businesses::NewBusiness::with_every_capability("Ledger bench", "EUR")).await?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let done = Arc::new(AtomicU64::new(0));
    let sequence = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (db, business_id, run) = (app.db.clone(), business.id.clone(), run.clone());
            let (done, sequence) = (done.clone(), sequence.clone());
            tokio::spawn(async move {
                while started.elapsed() < PHASE {
                    let n = sequence.fetch_add(1, Ordering::Relaxed);
                    let key = format!("{run}.{n}");
                    let fact = UsageFact::new(&business_id, Metric::MessagesHandled, "bench", &key, 1);
                    if usage::record_alone(&db, &fact).await.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Lays down `rows` ledger rows in the last closed month for each of
/// `count` businesses on one plan, then finalises every one of their
/// invoices of that month and reports how long it took.
async fn month(app: &App, count: usize, rows: usize) -> anyhow::Result<()> {
    let calendar = app.billing.calendar();
    let now = bottega::ids::now_ms();
    let current = calendar.containing(now).map_err(anyhow::Error::msg)?;
    let closed = calendar.containing(current.start - 1).map_err(anyhow::Error::msg)?;
    let plan_id = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let terms: PlanTerms = serde_json::from_value(json!({
        "monthly_fee_minor": 1900,
        "messages": {"included": 100, "tiers": [{"up_to": 1000, "unit_milli_minor": 2000}, {"up_to": null, "unit_milli_minor": 1000}]},
        "plugin_cpu_ms": {"included": 1000, "tiers": [{"up_to": null, "unit_milli_minor": 5}]},
    }))?;
    plans::add_version(&app.db, &plan_id, "Bench", 0, "EUR", &terms).await?;
    let laying = Instant::now();
    let mut ids = Vec::with_capacity(count);
    for b in 0..count {
        let new = businesses::NewBusiness::with_every_capability(format!("Month bench {b}"), "EUR");
        let (business, _) = businesses::create(&app.db, new).await?;
        plans::assign(&app.db, &business.id, &plan_id, 0, 2200, "VAT").await?;
        insert_rows(&app.db, &business.id, rows, closed.start, closed.end).await?;
        ids.push(business.id);
    }
    println!(
        "the month laid down: {count} businesses × {rows} usage rows in {:.1?} (not part of the measure)",
        laying.elapsed()
    );
    let started = Instant::now();
    let mut finalised = 0;
    for id in &ids {
        if invoices::finalize(&app.billing, id, &closed, now).await?.is_some() {
            finalised += 1;
        }
    }
    let took = started.elapsed();
    println!(
        "finalising {}: {finalised} invoices of {rows} usage rows each in {took:.2?} ({:.1} ms per invoice)",
        closed.label,
        took.as_secs_f64() * 1000.0 / finalised.max(1) as f64
    );
    Ok(())
}

/// `rows` usage rows of the business spread over `[from, to)`, half messages
/// handled and half plugin compute, in multi-row INSERTs.
async fn insert_rows(db: &Db, business_id: &str, rows: usize, from: i64, to: i64) -> anyhow::Result<()> {
    let span = (to - from).max(1);
    let recorded = bottega::ids::now_ms();
    let mut written = 0;
    while written < rows {
        let batch = INSERT_BATCH.min(rows - written);
        let mut sql = String::from(
            "INSERT INTO usage_events (id, business_id, metric, source, source_id, quantity, occurred_at, recorded_at) \
             VALUES ",
        );
        for i in 0..batch {
            let p = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            write!(
                sql,
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 8
            )?;
        }
        let mut query = sqlx::query(&sql);
        for i in 0..batch {
            let k = written + i;
            let (metric, quantity) =
                if k % 2 == 0 { (Metric::MessagesHandled, 1_i64) } else { (Metric::PluginCpuMs, 3 + (k % 7) as i64) };
            let occurred = from + (k as i64).wrapping_mul(7_919).rem_euclid(span);
            query = query
                .bind(bottega::ids::new_id("use"))
                .bind(business_id.to_string())
                .bind(metric.as_str())
                .bind("bench")
                .bind(format!("row{k}"))
                .bind(quantity)
                .bind(occurred)
                .bind(recorded);
        }
        query.execute(db.pool()).await?;
        written += batch;
    }
    Ok(())
}

/// Messages per second through the HTTP API with billing on and off: two
/// nodes, one metering and one not, alternated twice in the same run.
async fn messages(database_url: Option<String>) -> anyhow::Result<()> {
    let (on_dir, off_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let on = App::start(config(on_dir.path(), database_url.clone(), true)).await?;
    let off = App::start(config(off_dir.path(), database_url, false)).await?;
    let on_shop = shop(&on).await?;
    let off_shop = shop(&off).await?;
    load::answered_per_second(&on_shop, CLIENTS, Duration::from_millis(500), customer).await?;
    load::answered_per_second(&off_shop, CLIENTS, Duration::from_millis(500), customer).await?;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        with.push(load::answered_per_second(&on_shop, CLIENTS, PHASE, customer).await?);
        without.push(load::answered_per_second(&off_shop, CLIENTS, PHASE, customer).await?);
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let (with, without) = (mean(with.as_slice()), mean(without.as_slice()));
    println!(
        "messages end to end ({CLIENTS} clients, native bot): billing on {with:.0}/s, off {without:.0}/s; ratio {:.2}",
        with / without
    );
    let _ = on.shutdown(Duration::from_secs(5)).await;
    let _ = off.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

/// A shop answered by a native bot, served on a loopback port: its
/// `/v1/messages` URL and API key.
async fn shop(app: &App) -> anyhow::Result<(String, String)> {
    let (business, key) =
        businesses::create(&app.db, businesses::NewBusiness::with_every_capability("Billing bench shop", "EUR"))
            .await?;
    app.chat.set_native_bot(&business.id, Arc::new(load::Hello));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/messages", listener.local_addr()?);
    let router = app.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((url, key))
}
