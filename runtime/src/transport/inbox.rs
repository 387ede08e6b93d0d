//! The inbound worker: turns persisted transport events into conversation
//! turns, oldest first (each turn hands its replies to their transport).
//!
//! An event is recorded already claimed by the node that received it
//! ([`Inbox::accept`]): a web chat's connection settles its message at once,
//! and a WhatsApp delivery's messages are answered at once in the background
//! ([`Inbox::answer_now`]) while the node has a free call slot. The worker
//! takes what is left: events a busy node passed on, and those of a node
//! that died.
//!
//! *In parallel, each conversation in order.* A claimed batch is split by
//! sender (one conversation each); different senders' events are processed
//! at the same time, up to the node's plugin call slots, and one sender's
//! strictly one after another, oldest first. Across nodes, an event waits
//! while an earlier one of its sender is pending elsewhere.
//!
//! An event is leased while it is processed. A database failure retries it
//! with backoff; a message the host refuses (e.g. an empty text) is marked
//! failed with the reason and not retried. The event is settled in the
//! transaction that stores its replies (`store::turns`): if a node dies
//! before, the event is processed again when its lease ends, its message
//! found stored and its "message handled" keyed by the event, so a replay
//! stores and meters nothing twice.
//!
//! The worker runs under the [`Supervisor`](crate::supervisor::Supervisor).
//! When shutdown begins it finishes the turn under way and takes no other;
//! the events it claimed and did not settle (and those web chats accepted)
//! are kept in a ledger and given back ([`Inbox::release_leases`]), so another
//! node answers them at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use super::web;
use super::whatsapp::{self, inbound};
use crate::chat::{ChatError, ChatService, EventTurn, Inbound, InboundRequest};
use crate::store::inbound_events::{self, ClaimedEvent};
use crate::store::{Db, StoreResult, outbox, queue};
use crate::supervisor::Supervisor;

const LEASE: Duration = Duration::from_secs(120);
const MAX_ATTEMPTS: i64 = 10;
const BATCH: u32 = 32;

#[derive(Clone)]
pub struct Inbox {
    db: Db,
    chat: Arc<ChatService>,
    wake: Arc<Notify>,
    retry_base: Duration,
    /// How many conversations' events are processed at once.
    parallel: usize,
    /// One per conversation answered now, by the worker or at once.
    slots: Arc<Semaphore>,
    /// The events this node claimed and has not settled.
    held: queue::Held,
    /// Cancelled when the node begins to stop: events accepted from then on
    /// are left to other nodes at once.
    stop: CancellationToken,
    /// This node answers push transports' events (it runs its workers);
    /// otherwise it stores them for other nodes' workers.
    answers: bool,
}

/// How long an event waits before looking again for the end of an earlier
/// event of its conversation that another node is processing.
const WAIT_FOR_EARLIER: Duration = Duration::from_millis(50);

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

impl Inbox {
    /// An inbox over `db`; `stop` is the node's stop token
    /// ([`Supervisor::stopping`](crate::supervisor::Supervisor::stopping)).
    /// `parallel`: how many conversations it answers at once (at least one).
    pub fn new(
        db: Db,
        chat: Arc<ChatService>,
        retry_base: Duration,
        parallel: usize,
        stop: CancellationToken,
    ) -> Inbox {
        let parallel = parallel.max(1);
        Inbox {
            db,
            chat,
            wake: Arc::new(Notify::new()),
            retry_base,
            parallel,
            slots: Arc::new(Semaphore::new(parallel)),
            held: queue::Held::default(),
            stop,
            answers: true,
        }
    }

    /// This inbox, answering push transports' events (`true`, the default)
    /// or only storing them for other nodes' workers (a node that runs none).
    pub fn answering(self, answers: bool) -> Inbox {
        Inbox { answers, ..self }
    }

    /// Wakes the worker: an event was persisted.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The worker: processes what is due, then waits for a wake-up or `poll`,
    /// until `stop` is cancelled (the turn under way is finished first).
    pub async fn run(self, poll: Duration, stop: CancellationToken) {
        while !stop.is_cancelled() {
            match self.process_due_until(crate::ids::now_ms(), &stop).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!("inbound worker: {e}"),
            }
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                _ = tokio::time::timeout(poll, self.wake.notified()) => {}
            }
        }
    }

    /// Processes due events once; returns how many were claimed.
    pub async fn process_due(&self, now: i64) -> StoreResult<usize> {
        self.process_due_until(now, &CancellationToken::new()).await
    }

    /// Like [`process_due`](Self::process_due), stopping between events once
    /// `stop` is cancelled; the events left are still held, for
    /// [`release_leases`](Self::release_leases).
    async fn process_due_until(&self, now: i64, stop: &CancellationToken) -> StoreResult<usize> {
        let lease_until = lease_end(now);
        let claimed = inbound_events::claim_due(&self.db, now, lease_until, BATCH).await?;
        for event in &claimed {
            self.held.hold(&event.id, event.held_until);
        }
        let count = claimed.len();
        let mut conversations = by_sender(claimed).into_iter();
        let mut running = tokio::task::JoinSet::new();
        let mut failed = None;
        loop {
            while running.len() < self.parallel
                && let Some(events) = conversations.next()
            {
                let (inbox, stop) = (self.clone(), stop.clone());
                running.spawn(async move { inbox.process_in_order(events, &stop).await });
            }
            let Some(finished) = running.join_next().await else { break };
            match finished {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed = Some(e),
                // A turn that panicked: its events stay held, retried after their lease.
                Err(e) => tracing::error!("inbound worker: a conversation's turn failed: {e}"),
            }
            if failed.is_some() || stop.is_cancelled() {
                // Let the turns under way finish; start no other.
                conversations = Vec::new().into_iter();
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    /// Processes one sender's events one after another, oldest first,
    /// stopping between them once `stop` is cancelled.
    async fn process_in_order(&self, events: Vec<ClaimedEvent>, stop: &CancellationToken) -> StoreResult<()> {
        let Ok(_slot) = self.slots.acquire().await else { return Ok(()) };
        for event in events {
            if stop.is_cancelled() {
                break;
            }
            self.process_and_record(&event).await?;
        }
        Ok(())
    }

    /// How many events this node holds (claimed, not yet settled).
    pub fn leases_held(&self) -> usize {
        self.held.len()
    }

    /// Gives back the events this node claimed and did not settle, due at
    /// `now` for any node; returns how many. For a stopping node, once its
    /// turns are over.
    pub async fn release_leases(&self, now: i64) -> StoreResult<usize> {
        inbound_events::release(&self.db, &self.held, now).await
    }

    /// Records an event of `channel` unless its `external_id` was seen before,
    /// claimed by the caller, who must [`process_accepted`](Inbox::process_accepted) it; `None` for a repeat.
    pub async fn accept(&self, new: inbound_events::NewEvent<'_>) -> StoreResult<Option<ClaimedEvent>> {
        let now = crate::ids::now_ms();
        // A stopping node takes no new work: the event is due at once for
        // any node (settling it here still works if nobody took it first).
        let stopping = self.stop.is_cancelled();
        let lease_until = if stopping { now } else { lease_end(now) };
        let claimed = inbound_events::record_claimed(&self.db, new, lease_until).await?;
        if let Some(event) = &claimed
            && !stopping
        {
            self.held.hold(&event.id, event.held_until);
        }
        Ok(claimed)
    }

    /// Records an event a push transport delivered (a WhatsApp webhook's
    /// message) unless its `external_id` was seen before: claimed by this
    /// node, for [`answer_now`](Inbox::answer_now), when it answers events;
    /// otherwise due at once for any node's worker (and `None` either way for
    /// a repeat, or when this node leaves it to others).
    pub async fn receive(&self, new: inbound_events::NewEvent<'_>) -> StoreResult<Receipt> {
        if self.answers {
            return Ok(match self.accept(new).await? {
                Some(event) => Receipt::Claimed(event),
                None => Receipt::Repeat,
            });
        }
        Ok(match inbound_events::record_claimed(&self.db, new, crate::ids::now_ms()).await? {
            Some(_) => Receipt::Stored,
            None => Receipt::Repeat,
        })
    }

    /// Answers events this node just accepted ([`Inbox::accept`]) in the
    /// background, each sender's in order, while the node has free call
    /// slots; the events it has no slot for (or all of them, once the node
    /// is stopping) are given back due at once, for the worker.
    pub async fn answer_now(&self, supervisor: &Supervisor, events: Vec<ClaimedEvent>) -> StoreResult<()> {
        let mut left = Vec::new();
        for events in by_sender(events) {
            let slot = match self.stop.is_cancelled() {
                true => None,
                false => self.slots.clone().try_acquire_owned().ok(),
            };
            let Some(slot) = slot else {
                left.extend(events);
                continue;
            };
            let inbox = self.clone();
            supervisor.spawn("whatsapp turns", move |stop| async move {
                let _slot = slot;
                for event in events {
                    // Once the node stops, the rest are given back with its leases.
                    if stop.is_cancelled() {
                        break;
                    }
                    if let Err(e) = inbox.process_and_record(&event).await {
                        tracing::error!(event = %event.id, "inbound event left for the worker: {e}");
                    }
                }
            });
        }
        if !left.is_empty() {
            let given_back = queue::Held::default();
            for event in &left {
                self.held.let_go(&event.id);
                given_back.hold(&event.id, event.held_until);
            }
            inbound_events::release(&self.db, &given_back, crate::ids::now_ms()).await?;
            self.wake();
        }
        Ok(())
    }

    /// Settles an event accepted earlier (see [`Inbox::accept`]) if this node
    /// still holds it: an event the worker took over (its lease ran out while
    /// it waited) is not answered twice.
    pub async fn process_accepted(&self, event: ClaimedEvent) -> StoreResult<()> {
        self.process_and_record(&event).await
    }

    /// Processes one claimed event and records how it went: answered (settled
    /// with its replies), put back behind an earlier event of its sender,
    /// retried later (a database failure), or refused for good.
    pub async fn process_and_record(&self, event: &ClaimedEvent) -> StoreResult<()> {
        let settled = self.record_outcome(event).await;
        // Kept when recording failed: the lease is still this node's.
        if settled.is_ok() {
            self.held.let_go(&event.id);
        }
        settled
    }

    async fn record_outcome(&self, event: &ClaimedEvent) -> StoreResult<()> {
        match self.process(event).await {
            Ok(EventTurn::Answered(_)) => Ok(()),
            Ok(EventTurn::WaitsForEarlier) => {
                // Another node (or a retry) has an earlier message of this
                // conversation: answer this one after it, never before.
                let due = queue::due_after(crate::ids::now_ms(), WAIT_FOR_EARLIER);
                inbound_events::defer(&self.db, event, due).await
            }
            Ok(EventTurn::NotHeld) => {
                tracing::info!(event = %event.id, "inbound event taken over by another claimant; not handled twice");
                Ok(())
            }
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

    async fn process(&self, event: &ClaimedEvent) -> Result<EventTurn, ChatError> {
        let request = match event.channel.as_str() {
            whatsapp::CHANNEL => {
                let payload: Value = serde_json::from_str(&event.payload)
                    .map_err(|e| ChatError::Invalid(format!("stored event: {e}")))?;
                let (handle, known_as) = inbound::identity(&payload);
                let handle = handle.ok_or_else(|| ChatError::Invalid("the message names no sender".into()))?;
                // One person however WhatsApp names them: a phone number and a
                // business-scoped user id together, or an old and a new number.
                if known_as.len() > 1 {
                    self.chat.link_handles(&event.business_id, &known_as).await?;
                }
                let message = self.without_transport_ids(&event.business_id, inbound::to_inbound(&payload)).await?;
                InboundRequest { channel: whatsapp::CHANNEL.into(), handle, locale: None, message }
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
        self.chat.handle_inbound_event(&event.business_id, request, event).await
    }

    /// `message` as history may keep it: a reaction names the message it
    /// answers by this host's message id (`reacted_to`, or null for one this
    /// host did not send), never by WhatsApp's id, which encodes the
    /// customer's number.
    async fn without_transport_ids(&self, business_id: &str, message: Inbound) -> Result<Inbound, ChatError> {
        let Inbound::Unreadable { kind, mut details } = message else { return Ok(message) };
        if kind == "reaction"
            && let Some(details) = details.as_object_mut()
            && let Some(wamid) = details.remove("wamid")
        {
            let reacted_to = match wamid.as_str() {
                Some(wamid) => {
                    let key = self.db.message_key(business_id, wamid).await?;
                    outbox::send_of_message_key(&self.db, business_id, &key).await?.map(|sent| sent.message_id)
                }
                None => None,
            };
            details.insert("reacted_to".into(), reacted_to.map_or(Value::Null, Value::String));
        }
        Ok(Inbound::Unreadable { kind, details })
    }
}

/// What came of an event a push transport delivered ([`Inbox::receive`]).
#[derive(Debug)]
pub enum Receipt {
    /// New, claimed by this node to answer now.
    Claimed(ClaimedEvent),
    /// New, stored for any node's worker.
    Stored,
    /// Seen before: not stored again.
    Repeat,
}

/// `events` (oldest first) split by sender, each sender's kept in order; the
/// senders in the order of their oldest event. An event naming no sender is
/// a conversation of its own.
fn by_sender(events: Vec<ClaimedEvent>) -> Vec<Vec<ClaimedEvent>> {
    let mut conversations: Vec<Vec<ClaimedEvent>> = Vec::new();
    let mut index: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
    for event in events {
        let Some(sender) = event.sender_key.clone() else {
            conversations.push(vec![event]);
            continue;
        };
        match index.entry((event.business_id.clone(), sender)) {
            std::collections::hash_map::Entry::Occupied(at) => conversations[*at.get()].push(event),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(conversations.len());
                conversations.push(vec![event]);
            }
        }
    }
    conversations
}

/// When a lease taken at `now` ends.
fn lease_end(now: i64) -> i64 {
    now.saturating_add(i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, business_id: &str, sender: Option<&str>) -> ClaimedEvent {
        ClaimedEvent {
            id: id.into(),
            business_id: business_id.into(),
            channel: whatsapp::CHANNEL.into(),
            payload: "{}".into(),
            attempts: 0,
            created_at: 0,
            sender_key: sender.map(str::to_string),
            held_until: 0,
        }
    }

    fn ids(conversations: &[Vec<ClaimedEvent>]) -> Vec<Vec<&str>> {
        conversations.iter().map(|events| events.iter().map(|e| e.id.as_str()).collect()).collect()
    }

    #[test]
    fn a_batch_splits_by_sender_keeping_each_senders_order() {
        let batch = vec![
            event("1", "shop_a", Some("ana")),
            event("2", "shop_a", Some("ben")),
            event("3", "shop_a", Some("ana")),
            // The same sender key at another shop is another conversation.
            event("4", "shop_b", Some("ana")),
            event("5", "shop_a", None),
            event("6", "shop_a", None),
            event("7", "shop_a", Some("ben")),
            event("8", "shop_a", Some("ana")),
        ];
        assert_eq!(ids(&by_sender(batch)), vec![vec!["1", "3", "8"], vec!["2", "7"], vec!["4"], vec!["5"], vec!["6"]]);
    }
}
