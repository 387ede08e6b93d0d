//! Queuing replies for push transports, and the worker that sends them.
//!
//! [`WhatsAppReplies`] is the chat service's [`ReplyQueue`] for WhatsApp: it
//! translates replies into Cloud API requests, which chat queues with the
//! replies (`store::outbox`). A turn's sends are usually leased to this node
//! as they are stored and sent at once ([`Sender::send_claimed`]: no claim,
//! no wake-up); [`Sender::send_due`] claims what heads each conversation's
//! queue (sends queued behind earlier ones, retries, a dead node's) and
//! sends it:
//!
//! - 2xx: sent; the transport's message id is kept for status updates.
//! - 429, 5xx or no answer: retried with exponential backoff (from
//!   `TransportConfig::retry_base`), up to
//!   [`MAX_ATTEMPTS`], then dead (the business lists and retries dead sends).
//! - any other 4xx: dead at once; the request itself is wrong.
//! - more than 24 hours after the customer last wrote: not sent, marked
//!   `expired` (WhatsApp refuses free-form messages outside that window).
//!
//! Sends per channel are rate limited on each node (`rate_per_second`).
//!
//! The worker runs under the [`Supervisor`](crate::supervisor::Supervisor).
//! When shutdown begins, sends under way are finished and no other is
//! started; the rows claimed and not sent are given back
//! ([`Sender::release_leases`]) for another node to send at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::whatsapp::{self, outbound};
use crate::chat::{BoxFuture, RenderedReply, ReplyQueue, fallback};
use crate::egress::{EgressClient, EgressPolicy};
use crate::failpoint::{self, Failpoints};
use crate::store::businesses::Business;
use crate::store::outbox::{self, ClaimedSend, NewSend};
use crate::store::{Db, StoreResult, channels, queue};

pub const MAX_ATTEMPTS: i64 = 8;
/// WhatsApp's customer-service window.
pub const SERVICE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a claimed send is leased before another node may try it again.
const LEASE: Duration = Duration::from_secs(60);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
const BATCH: u32 = 64;

/// Queues replies to WhatsApp conversations as Cloud API requests, and sends
/// a turn's at once through the node's [`Sender`]; registered with the chat
/// service when the application is wired (`App::start`).
#[derive(Debug, Clone)]
pub struct WhatsAppReplies {
    pub sender: Sender,
    /// This node sends a turn's replies at once (it runs its workers);
    /// otherwise they wait in the queue for another node's sender.
    pub at_once: bool,
}

impl ReplyQueue for WhatsAppReplies {
    fn channel(&self) -> &'static str {
        whatsapp::CHANNEL
    }

    fn send_at_once(&self) -> Option<Duration> {
        self.at_once.then_some(LEASE)
    }

    fn dispatch(&self, at_once: Vec<ClaimedSend>, queued: bool) {
        if queued {
            self.sender.queued();
        }
        if !at_once.is_empty() {
            self.sender.send_claimed(at_once);
        }
    }

    fn sends<'a>(
        &'a self,
        db: &'a Db,
        business: &'a Business,
        replies: &'a [&'a RenderedReply],
    ) -> BoxFuture<'a, StoreResult<Vec<Vec<NewSend>>>> {
        Box::pin(for_whatsapp(db, business, replies))
    }
}

/// The Cloud API requests for replies to a WhatsApp conversation of
/// `business`, one list per reply (queued with the replies by
/// `conversations::append_sending`).
async fn for_whatsapp(db: &Db, business: &Business, replies: &[&RenderedReply]) -> StoreResult<Vec<Vec<NewSend>>> {
    let channel = channels::whatsapp(db, &business.id).await?;
    let catalog_id = channel.as_ref().and_then(|c| c.catalog_id.as_deref());
    Ok(replies
        .iter()
        .map(|reply| {
            let translation = outbound::translate(reply, catalog_id, fallback::WITH_AGENT);
            let adaptation = (!translation.adaptations.is_empty()).then(|| translation.adaptations.join("; "));
            if let Some(adaptation) = &adaptation {
                tracing::info!(business = %business.id, "reply adapted for WhatsApp: {adaptation}");
            }
            translation.sends.into_iter().map(|body| NewSend { body, adaptation: adaptation.clone() }).collect()
        })
        .collect())
}

/// Sends due outbox rows. One per node; several nodes share the queue safely.
#[derive(Debug, Clone)]
pub struct Sender {
    db: Db,
    /// Graph API requests go only where the egress policy allows.
    client: EgressClient,
    wake: Arc<Notify>,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    retry_base: Duration,
    /// The rows this node claimed and has not settled.
    held: queue::Held,
    /// Sends handed over at once ([`Sender::send_claimed`]), waited for when
    /// the worker stops.
    at_once: TaskTracker,
    /// Where a crash test stops a turn's sends before they are sent.
    failpoints: Failpoints,
    /// Set when the worker stops: sends handed over after it are not started
    /// (they are given back with the node's leases). Its lock orders a start
    /// before the worker's wait for the started ones.
    stopped: Arc<Mutex<bool>>,
    /// How many times sends were queued for the worker: sends handed over at
    /// once wake it when they are done if some were queued meanwhile (they
    /// may wait behind them).
    queued: Arc<AtomicU64>,
}

/// A token bucket: `rate` sends per second, bursts up to `rate`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

enum Attempt {
    Sent(Option<String>),
    Retry(String),
    Fatal(String),
}

impl Sender {
    pub fn new(db: Db, retry_base: Duration, egress: EgressPolicy) -> Sender {
        let client = EgressClient::new(egress, ATTEMPT_TIMEOUT);
        Sender {
            db,
            client,
            wake: Arc::new(Notify::new()),
            buckets: Arc::default(),
            retry_base,
            held: queue::Held::default(),
            at_once: TaskTracker::new(),
            failpoints: Failpoints::default(),
            stopped: Arc::default(),
            queued: Arc::default(),
        }
    }

    /// This sender, stopping where `failpoints` are armed (crash tests).
    pub fn with_failpoints(self, failpoints: Failpoints) -> Sender {
        Sender { failpoints, ..self }
    }

    /// Sends were queued: wakes the worker.
    pub fn queued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.wake();
    }

    /// Sends `rows` of one conversation now, in order, in the background:
    /// rows a turn leased to this node as it stored them, so no claim is
    /// needed. Held like claimed rows, so a stopping node gives back those it
    /// did not send; once the worker has stopped none is started here. A send
    /// that must be retried stops the rest, which are given back for the
    /// worker to send behind it; a lease half gone is renewed before a send.
    pub fn send_claimed(&self, rows: Vec<ClaimedSend>) {
        let Some(first) = rows.first() else { return };
        for row in &rows {
            self.held.hold(&row.id, row.held_until);
        }
        let business_id = first.business_id.clone();
        let (sender, queued_before) = (self.clone(), self.queued.load(Ordering::Relaxed));
        let stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        if *stopped {
            // Given back with the node's other leases.
            return;
        }
        self.at_once.spawn(async move {
            sender.failpoints.hit(failpoint::SEND_AT_ONCE).await;
            if let Err(e) = sender.send_in_order(&business_id, rows).await {
                // What is left stays held: sent by the worker once its lease
                // ends, or given back at once if the node stops first.
                tracing::error!(business = %business_id, "sends left for the outbox worker: {e}");
            }
            if sender.queued.load(Ordering::Relaxed) != queued_before {
                sender.wake();
            }
        });
        drop(stopped);
    }

    /// Sends `rows` (this node's, leased) one after another; see
    /// [`send_claimed`](Self::send_claimed).
    async fn send_in_order(&self, business_id: &str, rows: Vec<ClaimedSend>) -> StoreResult<()> {
        let channel = channels::whatsapp(&self.db, business_id).await?;
        let mut rows = rows.into_iter();
        while let Some(mut row) = rows.next() {
            let now = crate::ids::now_ms();
            if row.held_until - now < i64::try_from(LEASE.as_millis() / 2).unwrap_or(i64::MAX) {
                let renewed = queue::due_after(now, LEASE);
                if !outbox::extend_lease(&self.db, &row.id, row.held_until, renewed).await? {
                    // Another node took it (and what follows) over.
                    self.held.let_go(&row.id);
                    rows.for_each(|rest| self.held.let_go(&rest.id));
                    return Ok(());
                }
                row.held_until = renewed;
                self.held.hold(&row.id, renewed);
            }
            let id = row.id.clone();
            let settled = self.send_one(row, channel.as_ref(), now).await?;
            self.held.let_go(&id);
            if !settled {
                // The rest wait behind the retry: the worker sends them in order.
                let rest = queue::Held::default();
                for row in rows {
                    self.held.let_go(&row.id);
                    rest.hold(&row.id, row.held_until);
                }
                outbox::release(&self.db, &rest, now).await?;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Wakes the worker: something was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The worker: sends what is due, then waits for a wake-up or `poll`,
    /// until `stop` is cancelled (sends under way are finished first).
    pub async fn run(self, poll: Duration, stop: CancellationToken) {
        while !stop.is_cancelled() {
            match self.send_due_until(crate::ids::now_ms(), &stop).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!("outbox worker: {e}"),
            }
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                _ = tokio::time::timeout(poll, self.wake.notified()) => {}
            }
        }
        // The sends handed over at once finish too, before leases are given
        // back; none is started from now on.
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.at_once.close();
        self.at_once.wait().await;
    }

    /// How many sends this node holds (claimed, not yet settled).
    pub fn leases_held(&self) -> usize {
        self.held.len()
    }

    /// Gives back the sends this node claimed and did not settle, due at
    /// `now` for any node; returns how many. For a stopping node, once its
    /// sends are over.
    pub async fn release_leases(&self, now: i64) -> StoreResult<usize> {
        outbox::release(&self.db, &self.held, now).await
    }

    /// Claims and sends due rows once; returns how many were claimed.
    pub async fn send_due(&self, now: i64) -> StoreResult<usize> {
        self.send_due_until(now, &CancellationToken::new()).await
    }

    /// Like [`send_due`](Self::send_due), starting no send once `stop` is
    /// cancelled; the rows left are still held, for
    /// [`release_leases`](Self::release_leases).
    async fn send_due_until(&self, now: i64, stop: &CancellationToken) -> StoreResult<usize> {
        let lease_until = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let claimed = outbox::claim_due(&self.db, now, lease_until, BATCH).await?;
        for row in &claimed {
            self.held.hold(&row.id, lease_until);
        }
        let count = claimed.len();
        // Each conversation's rows go in order; conversations go concurrently.
        let mut by_conversation: HashMap<String, Vec<ClaimedSend>> = HashMap::new();
        for row in claimed {
            by_conversation.entry(row.conversation_id.clone()).or_default().push(row);
        }
        let mut channels_of: HashMap<String, Option<channels::WhatsAppChannel>> = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        for (_, rows) in by_conversation {
            let business_id = rows.first().map(|r| r.business_id.clone()).unwrap_or_default();
            if !channels_of.contains_key(&business_id) {
                let channel = channels::whatsapp(&self.db, &business_id).await?;
                channels_of.insert(business_id.clone(), channel);
            }
            let channel = channels_of.get(&business_id).cloned().flatten();
            let (sender, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move {
                for row in rows {
                    if stop.is_cancelled() {
                        break;
                    }
                    let id = row.id.clone();
                    let settled = sender.send_one(row, channel.as_ref(), now).await?;
                    sender.held.let_go(&id);
                    if !settled {
                        // It heads its conversation's queue again, for a retry.
                        break;
                    }
                }
                Ok::<(), crate::store::StoreError>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(result) => result?,
                Err(e) => tracing::error!("outbox send task failed: {e}"),
            }
        }
        Ok(count)
    }

    /// Attempts one claimed send and records how it went; true when the
    /// send is settled (sent, dead or expired), false when it waits for a
    /// retry (what follows it in its conversation must wait too).
    async fn send_one(
        &self,
        row: ClaimedSend,
        channel: Option<&channels::WhatsAppChannel>,
        now: i64,
    ) -> StoreResult<bool> {
        let Some(channel) = channel else {
            outbox::mark_failed(&self.db, &row.id, "the business has no WhatsApp channel configured", None).await?;
            return Ok(true);
        };
        if row.last_inbound_at.is_none_or(|at| now - at > SERVICE_WINDOW_MS) {
            let why = "outside the 24-hour customer service window: free-form messages are refused";
            outbox::mark_expired(&self.db, &row.id, why).await?;
            return Ok(true);
        }
        self.take_token(channel).await;
        match self.attempt(channel, &row).await {
            Attempt::Sent(external_id) => {
                outbox::mark_sent(&self.db, &row.business_id, &row.id, external_id.as_deref()).await?;
                Ok(true)
            }
            Attempt::Retry(error) if row.attempts + 1 < MAX_ATTEMPTS => {
                let next = queue::due_after(now, queue::backoff(self.retry_base, super::MAX_RETRY_DELAY, row.attempts));
                outbox::mark_failed(&self.db, &row.id, &error, Some(next)).await?;
                Ok(false)
            }
            Attempt::Retry(error) | Attempt::Fatal(error) => {
                outbox::mark_failed(&self.db, &row.id, &error, None).await?;
                Ok(true)
            }
        }
    }

    async fn attempt(&self, channel: &channels::WhatsAppChannel, row: &ClaimedSend) -> Attempt {
        let Ok(mut body) = serde_json::from_str::<Value>(&row.body) else {
            return Attempt::Fatal("the queued request is not JSON".into());
        };
        // A business-scoped user id (no phone number) is addressed as `recipient`.
        let field = if row.recipient.contains('.') { "recipient" } else { "to" };
        body[field] = Value::String(row.recipient.clone());
        let url = format!("{}/{}/messages", channel.graph_base_url.trim_end_matches('/'), channel.phone_number_id);
        // Checked again at send time: the access token goes only where the
        // policy allows (a channel stored before the policy, a name that now
        // resolves elsewhere).
        let request = match self.client.post(&url) {
            Ok(request) => request,
            Err(e) => return Attempt::Fatal(format!("egress refused: {e}")),
        };
        let response = request.bearer_auth(&channel.access_token).json(&body).send().await;
        let response = match response {
            Ok(response) => response,
            Err(e) => return Attempt::Retry(format!("no answer from the Graph API: {}", crate::egress::describe(&e))),
        };
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let id = answer.pointer("/messages/0/id").and_then(Value::as_str).map(str::to_string);
            return Attempt::Sent(id);
        }
        let detail = answer.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
        let error = format!("Graph API answered {status} {detail}").trim().to_string();
        if status.as_u16() == 429 || status.is_server_error() { Attempt::Retry(error) } else { Attempt::Fatal(error) }
    }

    /// Waits until the channel's rate allows one more send.
    async fn take_token(&self, channel: &channels::WhatsAppChannel) {
        let rate = channel.rate_per_second.max(1) as f64;
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                let bucket = buckets
                    .entry(channel.phone_number_id.clone())
                    .or_insert(Bucket { tokens: rate, at: Instant::now() });
                let now = Instant::now();
                bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(rate);
                bucket.at = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}
