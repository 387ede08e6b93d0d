//! Signed notifications to businesses (order and payment events, and plugin
//! versions that finished compiling: `plugin.ready`, `plugin.failed`).
//!
//! Each delivery is a JSON POST with the header
//! `Bottega-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//! A receiver recomputes the HMAC over the timestamp and the exact body, compares
//! in constant time, and refuses timestamps outside its tolerance (see [`verify`])
//! so a captured delivery cannot be replayed later. Deliveries are retried with
//! exponential backoff until a 2xx answer, up to [`MAX_ATTEMPTS`].
//!
//! [`DeliveryWorker`] delivers what is due, under the
//! [`Supervisor`](crate::supervisor::Supervisor): when shutdown begins it
//! finishes the attempt under way, starts no other, and gives back the
//! deliveries it claimed and did not attempt.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::egress::{EgressClient, EgressPolicy};
use crate::signing;
use crate::store::plugins::PluginVersion;
use crate::store::{Db, StoreResult, queue, webhooks};

pub const SIGNATURE_HEADER: &str = "Bottega-Signature";
pub const MAX_ATTEMPTS: i64 = 12;
/// How long an attempt may take before another node may try the delivery again.
const LEASE: Duration = Duration::from_secs(60);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The signature header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let signed = format!("{timestamp}.{body}");
    format!("t={timestamp},v1={}", signing::hmac_sha256_hex(secret.as_bytes(), &[signed.as_bytes()]))
}

/// Checks a signature header as a receiver should: the HMAC over the timestamp
/// and the exact body, in constant time, within `tolerance` of `now` (seconds).
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance: Duration) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return false };
    if (now - timestamp).unsigned_abs() > tolerance.as_secs() {
        return false;
    }
    let signed = format!("{timestamp}.{body}");
    signing::hmac_sha256_verify(secret.as_bytes(), &[signed.as_bytes()], &signature)
}

/// Queues an event for the business's endpoint, if it has one: `data` is the
/// event's subject, e.g. `{"order": …}`.
pub async fn event(db: &Db, business_id: &str, event_type: &str, data: serde_json::Value) -> StoreResult<()> {
    webhooks::enqueue(db, business_id, event_type, &webhooks::event_payload(event_type, data)).await
}

/// Tells a business one of its plugin versions finished compiling
/// (`plugin.ready` or `plugin.failed`), logging instead of failing.
pub async fn notify_plugin(db: &Db, business_id: &str, event_type: &str, version: &PluginVersion) {
    if let Err(e) = event(db, business_id, event_type, serde_json::json!({"plugin_version": version})).await {
        tracing::error!(business = %business_id, event_type, "could not queue a webhook: {e}");
    }
}

/// Delay before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff(attempts: i64) -> Duration {
    crate::store::queue::backoff(Duration::from_secs(10), Duration::from_secs(3600), attempts)
}

/// Attempts every delivery due at `now` (ms); returns how many were acknowledged.
pub async fn deliver_due(db: &Db, client: &EgressClient, now: i64) -> StoreResult<usize> {
    deliver_due_until(db, client, now, &queue::Held::default(), &CancellationToken::new()).await
}

/// Like [`deliver_due`], keeping the claimed deliveries in `held` until they
/// are settled, and attempting none once `stop` is cancelled.
async fn deliver_due_until(
    db: &Db,
    client: &EgressClient,
    now: i64,
    held: &queue::Held,
    stop: &CancellationToken,
) -> StoreResult<usize> {
    let lease_until = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    let claimed = webhooks::claim_due(db, now, lease_until, 20).await?;
    for delivery in &claimed {
        held.hold(&delivery.id, lease_until);
    }
    let mut acknowledged = 0;
    for delivery in claimed {
        if stop.is_cancelled() {
            break;
        }
        let outcome = match webhooks::endpoint(db, &delivery.business_id).await? {
            None => Err("the business removed its webhook endpoint".to_string()),
            Some((url, secret)) => attempt(client, &url, &secret, &delivery.payload).await,
        };
        match outcome {
            Ok(()) => {
                webhooks::mark_delivered(db, &delivery.id).await?;
                acknowledged += 1;
            }
            Err(error) => {
                let attempts = delivery.attempts + 1;
                let next =
                    (attempts < MAX_ATTEMPTS).then(|| crate::store::queue::due_after(now, backoff(attempts - 1)));
                webhooks::mark_attempt_failed(db, &delivery.id, &error, next).await?;
            }
        }
        held.let_go(&delivery.id);
    }
    Ok(acknowledged)
}

/// One delivery attempt. The endpoint is checked against the egress policy
/// again (where its name resolves now, too); a redirect is not followed and
/// counts as a failure.
async fn attempt(client: &EgressClient, url: &str, secret: &str, payload: &str) -> Result<(), String> {
    let timestamp = crate::ids::now_ms() / 1000;
    let response = client
        .post(url)
        .map_err(|e| format!("egress refused: {e}"))?
        .timeout(ATTEMPT_TIMEOUT)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(secret, timestamp, payload))
        .body(payload.to_string())
        .send()
        .await
        .map_err(|e| format!("request failed: {}", crate::egress::describe(&e)))?;
    if response.status().is_success() { Ok(()) } else { Err(format!("the endpoint answered {}", response.status())) }
}

/// The node's webhook deliverer: one pass delivers what is due; the
/// deliveries it claimed and did not settle are given back on shutdown.
/// Cheap to clone; clones share the ledger of what is held.
#[derive(Debug, Clone)]
pub struct DeliveryWorker {
    db: Db,
    client: EgressClient,
    held: queue::Held,
}

impl DeliveryWorker {
    /// A deliverer whose requests go only where `egress` allows.
    pub fn new(db: Db, egress: EgressPolicy) -> DeliveryWorker {
        DeliveryWorker { db, client: EgressClient::new(egress, ATTEMPT_TIMEOUT), held: queue::Held::default() }
    }

    /// One pass: attempts what is due now, none once `stop` is cancelled.
    pub async fn deliver_due(&self, stop: &CancellationToken) {
        if let Err(e) = deliver_due_until(&self.db, &self.client, crate::ids::now_ms(), &self.held, stop).await {
            tracing::warn!("delivering webhooks failed: {e}");
        }
    }

    /// Gives back the deliveries this node claimed and did not settle, due at
    /// `now` for any node; returns how many.
    pub async fn release_leases(&self, now: i64) -> StoreResult<usize> {
        webhooks::release(&self.db, &self.held, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_the_same_body_secret_and_recent_time() {
        let header = sign("whsec_1", 1_700_000_000, "{\"a\":1}");
        let window = Duration::from_secs(300);
        assert!(verify("whsec_1", &header, "{\"a\":1}", 1_700_000_100, window));
        assert!(!verify("whsec_1", &header, "{\"a\":2}", 1_700_000_100, window), "another body");
        assert!(!verify("whsec_2", &header, "{\"a\":1}", 1_700_000_100, window), "another secret");
        assert!(!verify("whsec_1", &header, "{\"a\":1}", 1_700_000_301, window), "replayed too late");
        assert!(!verify("whsec_1", "t=1,v1=zz", "{}", 1, window));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(10));
        assert_eq!(backoff(1), Duration::from_secs(20));
        assert_eq!(backoff(3), Duration::from_secs(80));
        assert_eq!(backoff(11), Duration::from_secs(3600));
    }
}
