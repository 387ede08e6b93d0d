//! The WhatsApp message path end to end, through real sockets (issue 16):
//! customers' texts arrive as signed webhooks (`X-Hub-Signature-256`) at a
//! running node, the example grocery plugin (Rust, compiled to wasm, with a
//! product on its shelves) answers each "hello" with its greeting buttons, and
//! the outbox sends the reply to a local fake Graph API, which notes when each
//! customer's reply arrives. Measured, on SQLite and (when `DATABASE_URL` is
//! set) on PostgreSQL:
//!
//! - answered/s: texts answered per second under sustained load, closed loop
//!   (each of C customers sends a text, waits until its reply reaches the fake
//!   Graph API, then sends the next), with 1 and 32 customers; sends/s counts
//!   every send the fake received (the bot may send more than one per text);
//! - webhook → send latency, p50 and p99: from posting a customer's webhook to
//!   the fake Graph API receiving that customer's first reply;
//! - database transactions per answered text (`Db::round_trips` before and
//!   after a closed-loop phase, divided by the texts answered; the node's
//!   periodic workers add a little; no delivery statuses are posted back);
//! - ingest/s: verified webhooks acknowledged per second, open loop (8
//!   clients posting as fast as they are acknowledged), measured last while
//!   the workers answer the backlog it builds (the transport bench measures
//!   the acknowledgement alone, with the workers off).
//!
//! Every customer is warmed up first (its first text creates the customer,
//! its keys and its conversation), and a second warm-up text tells how many
//! sends one "hello" produces. A reply missing for 10 s fails the run.
//!
//! `cargo bench -p bottega --bench message_path`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bottega::store::{businesses, channels};
use bottega::transport::whatsapp;
use bottega::{App, Config};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[allow(dead_code, reason = "the shared helpers this bench does not use: only `percentiles` is")]
mod common;

const PHASE: Duration = Duration::from_secs(4);
/// Concurrent customers of the closed-loop phases; the largest is how many are warmed up.
const CUSTOMERS: [usize; 2] = [1, 32];
/// Concurrent clients of the open-loop ingest phase.
const INGEST_CLIENTS: usize = 8;
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a warm-up waits for late sends after the first reply of every customer.
const SETTLE: Duration = Duration::from_millis(500);
const APP_SECRET: &str = "bench-secret";

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut summary = vec![run("SQLite", None).await?];
        match std::env::var("DATABASE_URL") {
            Ok(url) => summary.push(run("PostgreSQL", Some(url)).await?),
            Err(_) => println!("\n(PostgreSQL skipped: DATABASE_URL is not set)"),
        }
        println!();
        for line in summary {
            println!("{line}");
        }
        Ok(())
    })
}

/// A Graph API stand-in: accepts every send, counts it, and tells the
/// customer it is addressed to (by `to`) when it arrived.
struct Graph {
    sends: AtomicU64,
    customers: HashMap<String, mpsc::UnboundedSender<Instant>>,
}

async fn messages(
    axum::extract::State(graph): axum::extract::State<Arc<Graph>>,
    body: axum::Json<Value>,
) -> axum::Json<Value> {
    let arrived = Instant::now();
    let n = graph.sends.fetch_add(1, Ordering::Relaxed);
    let to = body.get("to").and_then(Value::as_str).unwrap_or_default().trim_start_matches('+');
    if let Some(customer) = graph.customers.get(to) {
        let _ = customer.send(arrived);
    }
    axum::Json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.bench.{n}")}]}))
}

/// Where and how webhooks are posted.
struct Target {
    client: reqwest::Client,
    url: String,
    phone_number_id: String,
}

impl Target {
    /// Posts one signed text from `from`; an error unless acknowledged.
    async fn say(&self, from: &str, text: &str) -> anyhow::Result<()> {
        let id = format!("wamid.bench.{}", uuid::Uuid::new_v4().simple());
        let body =
            json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": "15550000000", "phone_number_id": self.phone_number_id},
                      "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
                      "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text",
                                    "text": {"body": text}}]}}]}]})
            .to_string();
        let signature = whatsapp::sign(APP_SECRET, body.as_bytes());
        let response = self
            .client
            .post(&self.url)
            .header(whatsapp::SIGNATURE_HEADER, signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "the webhook was answered {}", response.status());
        Ok(())
    }
}

/// A customer: its number and the arrival times of the sends addressed to it.
struct Customer {
    phone: String,
    replies: mpsc::UnboundedReceiver<Instant>,
}

impl Customer {
    async fn reply(&mut self) -> anyhow::Result<Instant> {
        match tokio::time::timeout(REPLY_TIMEOUT, self.replies.recv()).await {
            Ok(Some(at)) => Ok(at),
            Ok(None) => anyhow::bail!("the fake Graph API stopped before customer {} was answered", self.phone),
            Err(_) => anyhow::bail!("customer {} got no reply within {REPLY_TIMEOUT:?}", self.phone),
        }
    }

    /// Sends "hello", waits for its `per_text` sends: the time to the first.
    async fn exchange(&mut self, target: &Target, per_text: usize) -> anyhow::Result<Duration> {
        let posted = Instant::now();
        target.say(&self.phone, "hello").await?;
        let first = self.reply().await?;
        for _ in 1..per_text {
            self.reply().await?;
        }
        Ok(first.saturating_duration_since(posted))
    }

    /// Forgets the sends received so far (late ones of a warm-up).
    fn drain(&mut self) {
        while self.replies.try_recv().is_ok() {}
    }
}

/// Every customer in `customers` exchanges texts one after another, at the
/// same time as the others, until `phase` has passed (at least once each).
/// The customers are given back with every exchange's latency.
async fn closed_loop(
    target: &Arc<Target>,
    customers: Vec<Customer>,
    per_text: usize,
    phase: Duration,
) -> anyhow::Result<(Vec<Customer>, Vec<Duration>)> {
    let started = Instant::now();
    let tasks: Vec<_> = customers
        .into_iter()
        .map(|mut customer| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    latencies.push(customer.exchange(&target, per_text).await?);
                    if started.elapsed() >= phase {
                        break;
                    }
                }
                Ok::<_, anyhow::Error>((customer, latencies))
            })
        })
        .collect();
    let (mut back, mut latencies) = (Vec::new(), Vec::new());
    for task in tasks {
        let (customer, times) = task.await??;
        back.push(customer);
        latencies.extend(times);
    }
    Ok((back, latencies))
}

/// Figures of one closed-loop phase.
struct Sustained {
    customers: usize,
    answered_per_second: f64,
    sends_per_second: f64,
    p50: Duration,
    p99: Duration,
    transactions_per_answer: f64,
}

async fn run(label: &str, database_url: Option<String>) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut config = Config::new(dir.path().to_path_buf(), "bench".into());
    config.database_url = database_url;
    // PostgreSQL needs a key-encryption key named: a fixed one for benches
    // (32 zero bytes), so every runtime of a run reads what another sealed.
    if config.database_url.is_some() {
        config.key = bottega::privacy::KeySource::Base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    }
    // The workers run (they answer and send); the per-business delivery limit
    // is a rate limit, not the cost being measured.
    config.http.rate_limits.whatsapp_deliveries_per_business = 0;
    // The stand-in Graph API listens on loopback.
    config.egress = bottega::egress::EgressPolicy::allowing(vec![
        bottega::egress::AllowedHost::parse("127.0.0.1").map_err(anyhow::Error::msg)?,
    ]);
    let app = App::start(config).await?;
    let (business, key) = businesses::create(
        &app.db,
        businesses::NewBusiness::with_every_capability(
            format!("Message path bench {}", uuid::Uuid::new_v4().simple()),
            "EUR",
        ),
    )
    .await?;
    app.plugins
        .publish(&app.db, &business, bottega_plugin_artifacts::GROCERY_RUST_BYTES, true)
        .await?
        .finished(&app.db)
        .await?;

    let warmed = CUSTOMERS.iter().copied().max().unwrap_or(1);
    let mut senders = HashMap::new();
    let mut customers = Vec::new();
    for c in 0..warmed {
        let (sender, replies) = mpsc::unbounded_channel();
        let phone = format!("3460{c:07}");
        senders.insert(phone.clone(), sender);
        customers.push(Customer { phone, replies });
    }
    let graph = Arc::new(Graph { sends: AtomicU64::new(0), customers: senders });
    let graph_router = axum::Router::new()
        .route("/{version}/{phone}/messages", axum::routing::post(messages))
        .with_state(graph.clone());
    let graph_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let graph_base = format!("http://{}/v23.0", graph_listener.local_addr()?);
    let graph_server = tokio::spawn(async move { axum::serve(graph_listener, graph_router).await });

    let phone_number_id = format!("{}", 100_000 + (uuid::Uuid::new_v4().as_u128() % 1_000_000));
    let channel = channels::WhatsAppChannel {
        business_id: business.id.clone(),
        phone_number_id: phone_number_id.clone(),
        app_secret: APP_SECRET.into(),
        verify_token: "v".into(),
        access_token: "a".into(),
        graph_base_url: graph_base,
        catalog_id: None,
        rate_per_second: 1_000_000,
        waba_id: None,
    };
    channels::put_whatsapp(&app.db, &channel).await?;
    let router = app.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let product = json!({"id": "pear", "name": "Pear", "price_minor": 90, "currency": "EUR", "stock": 100_000_000, "section": "Fruit"});
    client.post(format!("{base}/v1/products")).bearer_auth(&key).json(&product).send().await?.error_for_status()?;
    let target = Arc::new(Target { client, url: format!("{base}/webhooks/whatsapp/{}", business.id), phone_number_id });

    // Warm-up: the first text of every customer opens its conversation; the
    // second tells how many sends a "hello" gets.
    let (mut customers, _) = closed_loop(&target, customers, 1, Duration::ZERO).await?;
    tokio::time::sleep(SETTLE).await;
    customers.iter_mut().for_each(Customer::drain);
    let before = graph.sends.load(Ordering::Relaxed);
    (customers, _) = closed_loop(&target, customers, 1, Duration::ZERO).await?;
    tokio::time::sleep(SETTLE).await;
    customers.iter_mut().for_each(Customer::drain);
    let warm_sends = graph.sends.load(Ordering::Relaxed) - before;
    // Rounded: a stray late send must not make every exchange wait for one more.
    let per_text = ((warm_sends as f64 / customers.len() as f64).round() as usize).max(1);

    let mut sustained = Vec::new();
    for &count in &CUSTOMERS {
        let rest = customers.split_off(count.min(customers.len()));
        let (sends, trips, started) = (graph.sends.load(Ordering::Relaxed), app.db.round_trips(), Instant::now());
        let (back, mut latencies) = closed_loop(&target, customers, per_text, PHASE).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let answered = latencies.len() as f64;
        let (p50, p99) = common::percentiles(&mut latencies);
        sustained.push(Sustained {
            customers: count,
            answered_per_second: answered / elapsed,
            sends_per_second: (graph.sends.load(Ordering::Relaxed) - sends) as f64 / elapsed,
            p50,
            p99,
            transactions_per_answer: (app.db.round_trips() - trips) as f64 / answered,
        });
        customers = back;
        customers.extend(rest);
    }

    // Open loop: webhooks acknowledged per second, while the workers answer.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let customers = Arc::new(customers.into_iter().map(|c| c.phone).collect::<Vec<_>>());
    let started = Instant::now();
    let clients: Vec<_> = (0..INGEST_CLIENTS)
        .map(|c| {
            let (target, acknowledged, customers) = (target.clone(), acknowledged.clone(), customers.clone());
            tokio::spawn(async move {
                let mut n = c;
                while started.elapsed() < PHASE {
                    if target.say(&customers[n % customers.len()], "hello").await.is_ok() {
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                    n += INGEST_CLIENTS;
                }
            })
        })
        .collect();
    for client in clients {
        client.await?;
    }
    let ingest = acknowledged.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let _ = app.shutdown(Duration::from_secs(2)).await;
    server.abort();
    graph_server.abort();

    println!("\n== {label}: grocery plugin (wasm) greeting, {per_text} send(s) per \"hello\" ==");
    println!(
        "{:<28} {:>10} {:>11} {:>9} {:>10} {:>10} {:>13}",
        "phase", "customers", "answered/s", "sends/s", "p50", "p99", "db tx/answer"
    );
    for s in &sustained {
        println!(
            "{:<28} {:>10} {:>11.0} {:>9.0} {:>10.2?} {:>10.2?} {:>13.1}",
            "closed loop (text → reply)",
            s.customers,
            s.answered_per_second,
            s.sends_per_second,
            s.p50,
            s.p99,
            s.transactions_per_answer
        );
    }
    let clients = format!("{INGEST_CLIENTS} clients");
    println!(
        "{:<28} {clients:>10} ingest/s {ingest:.0} (signed webhooks acknowledged, the backlog answered meanwhile)",
        "open loop (webhooks)"
    );

    let mut line = format!("{label}: ingest {ingest:.0}/s");
    for s in &sustained {
        let _ = write!(
            line,
            "; {} customer(s): {:.0} answered/s, p50 {:.2?}, p99 {:.2?}, {:.1} db tx/answer",
            s.customers, s.answered_per_second, s.p50, s.p99, s.transactions_per_answer
        );
    }
    Ok(line)
}
