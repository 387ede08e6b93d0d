//! The inbound worker: turns persisted transport events into conversation
//! turns, oldest first, and wakes the outbox sender for the replies.
//!
//! WhatsApp's events wait for the worker. A web chat message is recorded
//! already claimed by the connection that received it ([`Inbox::accept`]),
//! which settles it at once; the worker takes it only if that node died.
//!
//! An event is leased while it is processed. A database failure retries it
//! with backoff; a message the host refuses (e.g. an empty text) is marked
//! failed with the reason and not retried. At least once: if a node dies
//! after the bot answered but before the event was marked done, the event is
//! processed again when its lease ends.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use super::outbox::Sender;
use super::web;
use super::whatsapp::{self, inbound};
use crate::chat::{ChatError, ChatService, InboundRequest};
use crate::store::inbound_events::{self, Claimed};
use crate::store::{Db, StoreResult, businesses, queue};

const LEASE: Duration = Duration::from_secs(120);
const MAX_ATTEMPTS: i64 = 10;
const BATCH: u32 = 32;

#[derive(Clone)]
pub struct Inbox {
    db: Db,
    chat: Arc<ChatService>,
    sender: Sender,
    wake: Arc<Notify>,
    retry_base: Duration,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

impl Inbox {
    pub fn new(db: Db, chat: Arc<ChatService>, sender: Sender, retry_base: Duration) -> Inbox {
        Inbox { db, chat, sender, wake: Arc::new(Notify::new()), retry_base }
    }

    /// Wakes the worker: an event was persisted.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn spawn(&self, poll: Duration) {
        let inbox = self.clone();
        tokio::spawn(async move {
            loop {
                match inbox.process_due(crate::ids::now_ms()).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::error!("inbound worker: {e}"),
                }
                let _ = tokio::time::timeout(poll, inbox.wake.notified()).await;
            }
        });
    }

    /// Processes due events once; returns how many were claimed.
    pub async fn process_due(&self, now: i64) -> StoreResult<usize> {
        let lease_until = lease_end(now);
        let claimed = inbound_events::claim_due(&self.db, now, lease_until, BATCH).await?;
        let count = claimed.len();
        for event in claimed {
            self.settle(&event).await?;
        }
        if count > 0 {
            self.sender.wake();
        }
        Ok(count)
    }

    /// Records an event of `channel` unless its `external_id` was seen before,
    /// claimed by the caller, who must [`settle`](Inbox::settle) it; `None` for a repeat.
    pub async fn accept(
        &self,
        business_id: &str,
        channel: &str,
        external_id: &str,
        payload: &str,
    ) -> StoreResult<Option<Claimed>> {
        let lease_until = lease_end(crate::ids::now_ms());
        inbound_events::record_claimed(&self.db, business_id, channel, external_id, payload, lease_until).await
    }

    /// Settles an event accepted earlier (see [`Inbox::accept`]) if this node
    /// still holds it: its lease is renewed first, so an event the worker took
    /// over (the lease ran out while it waited) is not answered twice.
    pub async fn settle_accepted(&self, mut event: Claimed) -> StoreResult<()> {
        let lease_until = lease_end(crate::ids::now_ms());
        if !inbound_events::renew_lease(&self.db, &mut event, lease_until).await? {
            tracing::info!(event = %event.id, "inbound event taken over by the worker; not handled twice");
            return Ok(());
        }
        self.settle(&event).await
    }

    /// Processes one claimed event and records how it went: done, retried
    /// later (a database failure), or refused for good.
    pub async fn settle(&self, event: &Claimed) -> StoreResult<()> {
        match self.process(event).await {
            Ok(()) => inbound_events::mark_done(&self.db, &event.id).await,
            Err(ChatError::Store(e)) if event.attempts + 1 < MAX_ATTEMPTS => {
                let delay = queue::backoff(self.retry_base, super::MAX_RETRY_DELAY, event.attempts);
                let next = queue::due_after(crate::ids::now_ms(), delay);
                inbound_events::mark_failed(&self.db, &event.id, &e.to_string(), Some(next)).await
            }
            Err(e) => {
                tracing::warn!(event = %event.id, "inbound event refused: {e}");
                inbound_events::mark_failed(&self.db, &event.id, &e.to_string(), None).await
            }
        }
    }

    async fn process(&self, event: &Claimed) -> Result<(), ChatError> {
        let Some(business) = businesses::get(&self.db, &event.business_id).await? else {
            return Err(ChatError::Invalid(format!("business {} no longer exists", event.business_id)));
        };
        let request = match event.channel.as_str() {
            whatsapp::CHANNEL => {
                let payload: Value = serde_json::from_str(&event.payload)
                    .map_err(|e| ChatError::Invalid(format!("stored event: {e}")))?;
                let handle = inbound::sender(&payload)
                    .ok_or_else(|| ChatError::Invalid("the message names no sender".into()))?;
                InboundRequest {
                    channel: whatsapp::CHANNEL.into(),
                    handle,
                    locale: None,
                    message: inbound::to_inbound(&payload),
                }
            }
            web::CHANNEL => {
                let stored: web::StoredEvent = serde_json::from_str(&event.payload)
                    .map_err(|e| ChatError::Invalid(format!("stored event: {e}")))?;
                InboundRequest {
                    channel: web::CHANNEL.into(),
                    handle: stored.handle,
                    locale: stored.locale,
                    message: stored.message.into_inbound(),
                }
            }
            other => return Err(ChatError::Invalid(format!("unknown channel `{other}`"))),
        };
        self.chat.handle_inbound(&business, request).await?;
        Ok(())
    }
}

/// When a lease taken at `now` ends.
fn lease_end(now: i64) -> i64 {
    now.saturating_add(i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX))
}
