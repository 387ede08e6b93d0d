//! What the end-to-end message benchmarks share: a greeting bot (the
//! cheapest answer, so the host's own work is what is measured) and a load
//! driver posting customers' texts to the JSON channel API.

use std::time::{Duration, Instant};

use bottega::chat::{BoxFuture, NativeBot};
use bottega::plugin::CallScope;
use bottega::plugin::bindings::{ConversationContext, InboundMessage, Reply};
use serde_json::json;

/// A bot that greets.
pub struct Hello;

impl NativeBot for Hello {
    fn handle_message<'a>(
        &'a self,
        _scope: &'a CallScope,
        _context: &'a ConversationContext,
        _message: &'a InboundMessage,
    ) -> BoxFuture<'a, Vec<Reply>> {
        Box::pin(async { vec![Reply::Text("Hello! What would you like today?".into())] })
    }
}

/// Answered messages per second from `clients` clients posting to `shop`
/// (its messages URL and API key) for `phase`; client `c`'s `n`th message
/// comes from `customer(c, n)`.
pub async fn answered_per_second(
    shop: &(String, String),
    clients: usize,
    phase: Duration,
    customer: fn(usize, u64) -> String,
) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url, key) = (client.clone(), shop.0.clone(), shop.1.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while started.elapsed() < phase {
                let body = json!({"customer": customer(c, sent), "text": "hi"});
                let response = client.post(&url).bearer_auth(&key).json(&body).send().await?;
                anyhow::ensure!(response.status().is_success(), "status {}", response.status());
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
