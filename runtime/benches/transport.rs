//! WhatsApp transport throughput, through real sockets:
//!
//! - verified inbound webhooks per second (signature check over the raw body,
//!   persist the message, acknowledge), against `/healthz` (the same HTTP
//!   stack and one database round trip) measured in the same run;
//! - outbound sends per second from the durable queue to a local fake Graph
//!   API (claim in conversation order, send, record), against posting the
//!   same requests straight to the fake with the same concurrency.
//!
//! On SQLite, and on PostgreSQL when `DATABASE_URL` is set.
//! `cargo bench -p bottega --bench transport`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bottega::store::conversations::{Author, Direction};
use bottega::store::{businesses, channels, conversations, outbox};
use bottega::transport::whatsapp;
use bottega::{App, Config};
use serde_json::json;

const PHASE: Duration = Duration::from_secs(4);
const CLIENTS: usize = 8;
const CONVERSATIONS: usize = 50;
const SENDS_PER_CONVERSATION: usize = 40;

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

/// A Graph API stand-in that accepts every send.
async fn fake_graph() -> anyhow::Result<String> {
    let counter = Arc::new(AtomicU64::new(0));
    let router =
        axum::Router::new().route(
            "/{version}/{phone}/messages",
            axum::routing::post(move || {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    axum::Json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.{n}")}]}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/v23.0", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(base)
}

/// Requests per second of `CLIENTS` concurrent loops of `request` for `PHASE`.
async fn rate<F, Fut>(request: F) -> f64
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let sequence = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (request, done, sequence) = (request.clone(), done.clone(), sequence.clone());
            tokio::spawn(async move {
                while started.elapsed() < PHASE {
                    if request(sequence.fetch_add(1, Ordering::Relaxed)).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn run(label: &str, database_url: Option<String>) -> anyhow::Result<()> {
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
    // Inbound: measure the acknowledgement path alone, without the per-business
    // delivery limit (a rate limit, not the cost being measured).
    config.transport.run_workers = false;
    config.http.rate_limits.whatsapp_deliveries_per_business = 0;
    // The stand-in Graph API listens on loopback.
    config.egress = bottega::egress::EgressPolicy::allowing(vec![
        bottega::egress::AllowedHost::parse("127.0.0.1").map_err(anyhow::Error::msg)?,
    ]);
    let app = App::start(config).await?;
    let (business, _) = businesses::create(
        &app.db,
        businesses::NewBusiness::with_every_capability(
            format!("Transport bench {}", uuid::Uuid::new_v4().simple()),
            "EUR",
        ),
    )
    .await?;
    let graph = fake_graph().await?;
    let phone_number_id = format!("{}", 100_000 + (uuid::Uuid::new_v4().as_u128() % 1_000_000));
    let channel = channels::WhatsAppChannel {
        business_id: business.id.clone(),
        phone_number_id: phone_number_id.clone(),
        app_secret: "bench-secret".into(),
        verify_token: "v".into(),
        access_token: "a".into(),
        graph_base_url: graph.clone(),
        catalog_id: None,
        rate_per_second: 1_000_000,
        waba_id: None,
    };
    channels::put_whatsapp(&app.db, &channel).await?;
    let router = app.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();

    println!("\n== {label} ==");
    let healthz = {
        let (client, url) = (client.clone(), format!("{base}/healthz"));
        rate(move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await
    };
    let webhooks = {
        let (client, url) = (client.clone(), format!("{base}/webhooks/whatsapp/{}", business.id));
        let phone = phone_number_id.clone();
        rate(move |n| {
            let (client, url) = (client.clone(), url.clone());
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": phone},
                "contacts": [{"wa_id": format!("3460{:07}", n % 1000)}],
                "messages": [{"from": format!("3460{:07}", n % 1000), "id": format!("wamid.bench.{n}"), "timestamp": "1",
                              "type": "text", "text": {"body": "hello"}}]}}]}]})
            .to_string();
            async move {
                let signature = whatsapp::sign("bench-secret", body.as_bytes());
                let sent = client.post(&url).header(whatsapp::SIGNATURE_HEADER, signature).body(body).send().await;
                sent.is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    };
    println!(
        "inbound webhooks (verify + persist + ack): {webhooks:.0}/s; /healthz {healthz:.0}/s; ratio {:.2}",
        webhooks / healthz
    );

    // Outbound: a full queue, drained by one node's sender.
    let mut total = 0;
    for c in 0..CONVERSATIONS {
        let handle = format!("3470{c:07}");
        let conversation =
            conversations::open(&app.db, &business.id, &format!("cus_bench{c}"), whatsapp::CHANNEL, &handle, "en")
                .await?;
        conversations::append(
            &app.db,
            &business.id,
            &conversation.id,
            Direction::Inbound,
            Author::Customer,
            &[json!({"type": "text", "text": "hi"})],
        )
        .await?;
        let bodies: Vec<serde_json::Value> =
            (0..SENDS_PER_CONVERSATION).map(|n| json!({"type": "text", "text": format!("reply {n}")})).collect();
        let sends: Vec<Vec<outbox::NewSend>> = (0..SENDS_PER_CONVERSATION)
            .map(|n| {
                vec![outbox::NewSend {
                    body: json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": format!("reply {n}")}}),
                    adaptation: None,
                }]
            })
            .collect();
        conversations::append_sending(
            &app.db,
            &business.id,
            &conversation,
            Direction::Outbound,
            Author::Bot,
            &bodies,
            conversations::Outgoing { sends: Some((whatsapp::CHANNEL, &sends)), ..conversations::Outgoing::default() },
        )
        .await?;
        total += SENDS_PER_CONVERSATION;
    }
    let sender =
        bottega::transport::outbox::Sender::new(app.db.clone(), Duration::from_millis(50), app.config.egress.clone());
    let started = Instant::now();
    let mut sent = 0;
    while sent < total {
        let n = sender.send_due(bottega::ids::now_ms()).await?;
        if n == 0 {
            anyhow::bail!("the queue stopped with {sent} of {total} sent");
        }
        sent += n;
    }
    let queued = total as f64 / started.elapsed().as_secs_f64();
    // The same requests straight to the fake, one stream per conversation.
    let direct_started = Instant::now();
    let tasks: Vec<_> = (0..CONVERSATIONS)
        .map(|c| {
            let (client, url) = (client.clone(), format!("{graph}/{phone_number_id}/messages"));
            tokio::spawn(async move {
                for n in 0..SENDS_PER_CONVERSATION {
                    let body = json!({"messaging_product": "whatsapp", "to": format!("3470{c:07}"), "type": "text",
                                      "text": {"body": format!("reply {n}")}});
                    let _ = client.post(&url).bearer_auth("a").json(&body).send().await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let direct = total as f64 / direct_started.elapsed().as_secs_f64();
    println!(
        "outbound sends from the queue: {queued:.0}/s; straight to the fake: {direct:.0}/s; ratio {:.2} ({total} sends, {CONVERSATIONS} conversations, rate limit out of the way)",
        queued / direct
    );
    Ok(())
}
