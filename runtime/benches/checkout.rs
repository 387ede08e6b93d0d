//! Checkouts per second through the HTTP API, with the sandbox processor:
//! a customer adds to the cart, checks out (the order holds stock), opens the
//! payment page and pays by card (captured); plus the p50/p99 of the payment
//! page submit. On SQLite, and on PostgreSQL when `DATABASE_URL` is set.
//!
//! `cargo bench -p bottega --bench checkout`

use std::time::{Duration, Instant};

use bottega::store::businesses;
use bottega::{App, Config};

const PHASE: Duration = Duration::from_secs(5);

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

async fn run(label: &str, database_url: Option<String>) -> anyhow::Result<()> {
    let clients: usize = std::env::var("BENCH_CLIENTS").ok().and_then(|c| c.parse().ok()).unwrap_or(8);
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
    config.commerce.public_url = base.clone();
    let app = App::start(config).await?;
    if std::env::var("BENCH_TRACE").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info,bottega=debug,tower_http=debug").try_init();
    }
    let (business, key) = businesses::create(
        &app.db,
        businesses::NewBusiness::with_every_capability(
            format!("Checkout bench {}", uuid::Uuid::new_v4().simple()),
            "EUR",
        ),
    )
    .await?;
    app.plugins
        .publish(&app.db, &business, bottega_plugin_artifacts::GROCERY_RUST_BYTES, true)
        .await?
        .finished(&app.db)
        .await?;
    let router = app.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let product = serde_json::json!({"id": "pear", "name": "Pear", "price_minor": 90, "currency": "EUR", "stock": 100_000_000, "section": "Fruit"});
    client.post(format!("{base}/v1/products")).bearer_auth(&key).json(&product).send().await?.error_for_status()?;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut submits = Vec::new();
            let mut n = 0u64;
            while started.elapsed() < PHASE {
                let customer = format!("c{c}-{n}");
                let say = |text: &'static str| {
                    client
                        .post(format!("{base}/v1/messages"))
                        .bearer_auth(&key)
                        .json(&serde_json::json!({"customer": customer, "text": text}))
                        .send()
                };
                say("add 1 pear").await?.error_for_status()?;
                let outcome: serde_json::Value = say("checkout").await?.error_for_status()?.json().await?;
                let checkout = outcome["replies"]
                    .as_array()
                    .and_then(|r| r.iter().find(|m| m["body"]["type"] == "checkout"))
                    .ok_or_else(|| anyhow::anyhow!("no checkout in {outcome}"))?;
                let url = checkout["body"]["order"]["payment_url"].as_str().unwrap_or_default().to_string();
                let order = checkout["body"]["order"]["id"].as_str().unwrap_or_default().to_string();
                let token = url.split_once("token=").map(|(_, t)| t.to_string()).unwrap_or_default();
                let page = client.get(&url).send().await?.text().await?;
                let key_at = page.find("name=idempotency_key value=\"").ok_or_else(|| anyhow::anyhow!("no form"))?;
                let form_key: String = page[key_at + 28..].chars().take_while(|c| *c != '"').collect();
                let form = [
                    ("token", token.as_str()),
                    ("idempotency_key", form_key.as_str()),
                    ("number", "4242424242424242"),
                    ("exp_month", "12"),
                    ("exp_year", "2030"),
                    ("cvc", "123"),
                ];
                let body = form.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
                let submit = Instant::now();
                let paid = client
                    .post(format!("{base}/pay/{order}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await?;
                submits.push(submit.elapsed());
                anyhow::ensure!(paid.status().is_success(), "payment answered {}", paid.status());
                n += 1;
            }
            Ok::<_, anyhow::Error>((n, submits))
        }));
    }
    let mut checkouts = 0;
    let mut submits = Vec::new();
    for task in tasks {
        let (n, times) = task.await??;
        checkouts += n;
        submits.extend(times);
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.abort();
    submits.sort();
    let at = |q: f64| submits[((submits.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{label}: {:.0} checkouts/s (cart, order, payment page, captured; {clients} clients, {} in {elapsed:.1} s); \
         payment submit p50 {:.1?} p99 {:.1?}",
        checkouts as f64 / elapsed,
        checkouts,
        at(0.5),
        at(0.99)
    );
    Ok(())
}
